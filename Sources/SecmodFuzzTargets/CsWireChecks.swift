import SecmodWire

/// The Clause-Schnorr helper's decoders (wire.md §6) with what each promises: an accepted
/// message re-encodes to the bytes it came from, except where a field is read leniently
/// (`for_melt` is any non-zero word, as Taler reads it).
enum CsWireChecks {
    static func message(_ m: [UInt8]) {
        available(m)
        keyMessage(m)
        for sign in [true, false] {
            request(m, sign: sign)
            batch(m, sign: sign)
            CsBatchModel.compare(m, sign: sign)
        }
        for version in CsWireVersion.allCases { signature(m, version) }
        deriveResponse(m)
    }

    static func available(_ m: [UInt8]) {
        guard let avail = try? CsKeyAvailable.decode(m) else { return }
        // The two zero bytes of the length field are checked on receipt and written as zero,
        // so the whole message is fields: the encoding is exact.
        invariant(avail.encode() == m, "CS AVAIL does not re-encode to the bytes it came from")
        invariant(avail.publicKey.count == 32 && avail.securityModulePublicKey.count == 32 && avail.securityModuleSignature.count == 64,
                  "CS AVAIL field sizes")
        invariant(!avail.section.isEmpty && !avail.section.utf8.contains(0), "CS AVAIL section name \(avail.section.debugDescription)")
    }

    static func keyMessage(_ m: [UInt8]) {
        guard let hash = try? CsKeyMessage.decodeHash(m) else { return }
        invariant(hash[...] == m[8..<72], "CS PURGE/REVOKE hash")
    }

    static func request(_ m: [UInt8], sign: Bool) {
        guard let r = try? CsRequest.parse(m, range: 0..<m.count, sign: sign) else {
            invariant(m.count != (sign ? CsRequest.signByteCount : CsRequest.deriveByteCount), "CS request of its size refused")
            return
        }
        invariant(r.isSign == sign && r.hash[...] == m[8..<72] && r.nonce[...] == m[(m.count - 32)...], "CS request fields")
        let again = r.encode()
        invariant(again.count == m.count && again[8...] == m[8...], "CS request does not re-encode")
        invariant(r.forMelt == (m[4..<8] != [0, 0, 0, 0]), "CS for_melt misread")
    }

    static func batch(_ m: [UInt8], sign: Bool) {
        guard let walk = try? CsBatchRequest.walk(m, sign: sign) else { return }
        let size = sign ? CsRequest.signByteCount : CsRequest.deriveByteCount
        invariant(walk.requests.count <= CsBatchRequest.maximumBatchSize, "CS batch of \(walk.requests.count) items")
        invariant(8 + walk.requests.count * size <= m.count, "CS batch read past its end")
        // A whole batch is exactly its items; re-encoded, the items are the same bytes.
        if !walk.brokePartWay {
            invariant(8 + walk.requests.count * size == m.count, "CS batch accepted trailing bytes")
            let again = CsBatchRequest.encode(walk.requests, sign: sign)
            for i in walk.requests.indices {
                let at = 8 + i * size
                invariant(again[(at + 8)..<(at + size)] == m[(at + 8)..<(at + size)], "CS batch item \(i) does not re-encode")
            }
        }
    }

    static func signature(_ m: [UInt8], _ version: CsWireVersion) {
        guard let (b, s) = try? CsSignature.decode(m, version: version) else { return }
        invariant(b <= 1 && s.count == 32, "CS SIGNATURE fields")
        let again = CsSignature.encode(b: b, s: s, version: version)
        invariant(again.count == m.count && again[..<4] == m[..<4] && again[(m.count - 32)...] == m[(m.count - 32)...],
                  "CS SIGNATURE does not re-encode")
    }

    static func deriveResponse(_ m: [UInt8]) {
        guard let r = try? CsDeriveResponse.decode(m) else { return }
        invariant(r[...] == m[8..<72], "CS RDERIVE response bytes")
    }
}
