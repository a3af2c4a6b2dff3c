import SecmodWire

extension FuzzTargets {
    /// Everything a peer can put on a helper socket. The input is one datagram, and also a
    /// byte stream that is cut into messages by their headers as the stream transport does.
    /// Every message goes through every decoder of both sides — the helpers' request parsers
    /// and the clients' reply and announcement parsers — because the sender picks the type.
    public static func wire(_ input: [UInt8]) {
        WireChecks.message(input)
        let frames = WireChecks.streamFrames(input)
        if !(frames.count == 1 && frames[0].count == input.count) {
            for frame in frames { WireChecks.message(frame) }
        }
        RsaPublicKeyChecks.check(input)
    }
}

/// The decoders of SecmodWire with what each promises about what it accepts.
enum WireChecks {
    static func message(_ m: [UInt8]) {
        header(m)
        eddsaAvailable(m)
        eddsaKeyMessage(m)
        eddsaSignRequest(m)
        eddsaSignature(m)
        signFailure(m)
        rsaAvailable(m)
        rsaKeyMessage(m)
        rsaSignRequest(m)
        RsaBatchModel.compare(m)
        rsaSignature(m)
        CsWireChecks.message(m)
    }

    /// The messages of a stream, up to the first header that cannot be right.
    static func streamFrames(_ bytes: [UInt8]) -> [[UInt8]] {
        var frames: [[UInt8]] = []
        var offset = 0
        while let h = MessageHeader.peek(bytes, at: offset), h.size >= MessageHeader.byteCount,
              h.size <= bytes.count - offset {
            frames.append(Array(bytes[offset..<offset + h.size]))
            offset += h.size
        }
        return frames
    }

    static func bigEndian(_ bytes: ArraySlice<UInt8>) -> Int {
        bytes.reduce(0) { $0 << 8 | Int($1) }
    }

    static func header(_ m: [UInt8]) {
        guard let h = MessageHeader.peek(m) else {
            invariant(m.count < MessageHeader.byteCount, "peek refused a \(m.count)-byte message")
            return
        }
        invariant(h.size == bigEndian(m[0..<2]) && Int(h.type) == bigEndian(m[2..<4]), "peek misread the header")
        if let d = try? MessageHeader.ofDatagram(m) {
            invariant(d == h && d.size == m.count, "ofDatagram accepted a header of \(d.size) bytes for \(m.count)")
        } else {
            invariant(h.size != m.count, "ofDatagram refused a consistent header")
        }
    }

    static func eddsaAvailable(_ m: [UInt8]) {
        guard let avail = try? EddsaKeyAvailable.decode(m) else { return }
        let again = avail.encode()
        // The reserved word (bytes 4..<8) is ignored on receipt and written as zero.
        invariant(again.count == m.count && again[..<4] == m[..<4] && again[8...] == m[8...],
                  "EdDSA AVAIL does not re-encode to the bytes it came from")
        invariant((try? EddsaKeyAvailable.decode(again)) == avail, "EdDSA AVAIL does not decode its own encoding")
        invariant(avail.signedBytes.count == 56, "EdDSA AVAIL signs \(avail.signedBytes.count) bytes, not 56")
    }

    static func eddsaKeyMessage(_ m: [UInt8]) {
        guard let key = try? EddsaKeyMessage.decodePublicKey(m) else { return }
        let type = UInt16(bigEndian(m[2..<4]))
        invariant(EddsaKeyMessage.encode(type: type, publicKey: key)[8...] == m[8...],
                  "EdDSA PURGE/REVOKE key does not re-encode")
    }

    static func eddsaSignRequest(_ m: [UInt8]) {
        guard let range = try? EddsaSignRequest.purposeRange(m) else { return }
        invariant(range == 8..<m.count, "EdDSA SIGN purpose range \(range) in \(m.count) bytes")
        invariant(bigEndian(m[8..<12]) == range.count, "EdDSA SIGN accepted a purpose whose size field disagrees")
        invariant(EddsaSignRequest.encode(purposeBytes: Array(m[range]))[8...] == m[8...],
                  "EdDSA SIGN does not re-encode")
    }

    static func eddsaSignature(_ m: [UInt8]) {
        guard let signature = try? EddsaSignature.decode(m) else { return }
        invariant(signature.publicKey.count == 32 && signature.signature.count == 64, "EdDSA SIGNATURE field sizes")
        invariant(signature.encode()[8...] == m[8...], "EdDSA SIGNATURE does not re-encode")
    }

    static func signFailure(_ m: [UInt8]) {
        guard let code = try? SignFailure.decodeCode(m) else { return }
        invariant(m.count == SignFailure.byteCount && Int(code) == bigEndian(m[4..<8]), "SIGN_FAILURE misread its code")
        invariant(TalerErrorCode.describe(code).hasPrefix(String(code)), "SIGN_FAILURE code description")
    }

    static func rsaAvailable(_ m: [UInt8]) {
        guard let avail = try? RsaKeyAvailable.decode(m) else { return }
        // Every byte of an RSA AVAIL is a field (no reserved words), so the encoding is exact;
        // a section name that does not survive the trip would be signed-for bytes the
        // client cannot reproduce.
        invariant(avail.encode() == m, "RSA AVAIL does not re-encode to the bytes it came from")
        invariant(avail.securityModulePublicKey.count == 32 && avail.securityModuleSignature.count == 64,
                  "RSA AVAIL field sizes")
        invariant(!avail.section.isEmpty && !avail.section.utf8.contains(0), "RSA AVAIL section name \(avail.section.debugDescription)")
        RsaPublicKeyChecks.check(avail.publicKey)
    }

    static func rsaKeyMessage(_ m: [UInt8]) {
        guard let hash = try? RsaKeyMessage.decodeHash(m) else { return }
        invariant(hash[...] == m[8..<72], "RSA PURGE/REVOKE hash")
    }

    static func rsaSignRequest(_ m: [UInt8]) {
        guard let parsed = try? RsaSignRequest.parse(m, range: 0..<m.count) else {
            invariant(m.count < RsaSignRequest.headerByteCount, "RSA SIGN refused \(m.count) bytes")
            return
        }
        invariant(parsed.hash[...] == m[8..<72] && parsed.message == 72..<m.count, "RSA SIGN fields")
    }

    static func rsaSignature(_ m: [UInt8]) {
        guard let signature = try? RsaSignature.decode(m) else { return }
        invariant(!signature.isEmpty && signature[...] == m[8...], "RSA SIGNATURE bytes")
        invariant((try? RsaSignature.decode(RsaSignature.encode(signature))) == signature, "RSA SIGNATURE round trip")
    }
}
