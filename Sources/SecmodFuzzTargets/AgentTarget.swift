import SecmodWire

extension FuzzTargets {
    /// Everything a client can send `secmod-agent`: the input is a byte stream cut into
    /// messages by their length fields, as the agent reads a connection, and each message
    /// goes through the request decoder and then through the decoders of what it carries
    /// (key blobs, signed data, session-bind, the blinding extensions).
    public static func agent(_ input: [UInt8]) {
        var offset = 0
        var messages = 0
        while messages < 64 {
            switch AgentFraming.next(in: input, from: offset, to: input.count) {
            case let .message(payload, consumed):
                invariant(consumed == payload.count + 4 && consumed <= input.count - offset, "framing consumed \(consumed) for \(payload.count)")
                AgentChecks.request(Array(payload))
                offset += consumed
                messages += 1
            case let .invalid(length):
                invariant(length == 0 || length > UInt32(AgentFraming.maximumMessageSize), "framing refused a valid length \(length)")
                return
            case .incomplete:
                invariant(input.count - offset < 4 || AgentChecks.announced(input, offset) > input.count - offset - 4, "framing waits for bytes it has")
                AgentChecks.request(Array(input[offset...]))  // also as one message
                return
            }
        }
    }
}

/// The agent decoders of SecmodWire with what each promises: what decodes re-encodes to
/// the same bytes, so that no message has two readings.
enum AgentChecks {
    static func announced(_ bytes: [UInt8], _ offset: Int) -> Int {
        bytes[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
    }

    static func request(_ payload: [UInt8]) {
        guard let request = try? AgentRequest.decode(payload[...]) else {
            signedData(payload)
            return
        }
        var w = SSHWriter()
        switch request {
        case .requestIdentities:
            invariant(payload == [AgentMessageType.requestIdentities], "REQUEST_IDENTITIES with a body")
        case let .sign(blob, data, flags):
            w.byte(AgentMessageType.signRequest); w.string(blob); w.string(data); w.uint32(flags.rawValue)
            invariant(w.bytes == payload, "SIGN_REQUEST does not re-encode")
            key(blob)
            signedData(data)
        case let .removeIdentity(blob):
            w.byte(AgentMessageType.removeIdentity); w.string(blob)
            invariant(w.bytes == payload, "REMOVE_IDENTITY does not re-encode")
            key(blob)
        case let .lock(passphrase), let .unlock(passphrase):
            w.byte(payload[0]); w.string(passphrase)
            invariant(w.bytes == payload, "LOCK/UNLOCK does not re-encode")
        case let .extension(name, contents):
            w.byte(AgentMessageType.extension); w.string(name); w.raw(contents)
            invariant(w.bytes == payload, "EXTENSION does not re-encode")
            if let bind = try? SessionBind(contents: contents) {
                var b = SSHWriter()
                b.string(bind.hostKey); b.string(bind.sessionID); b.string(bind.signature); b.bool(bind.isForwarding)
                invariant(b.bytes == contents, "session-bind does not re-encode")
                key(bind.hostKey)
                if let signature = try? SSHSignature(encoded: bind.signature) {
                    invariant(signature.encoded == bind.signature, "a signature blob does not re-encode")
                }
            }
            for signing in [false, true] {
                if let blind = try? OnionBlindingExtension.request(contents, signing: signing) {
                    var b = SSHWriter()
                    b.string(blind.keyBlob); b.uint64(blind.periodNumber); b.uint64(blind.periodLengthMinutes)
                    if let data = blind.data { b.string(data) }
                    invariant(b.bytes == contents, "a blinding request does not re-encode")
                }
            }
            _ = try? QueryExtension.parseReply(contents)
        case .addIdentity, .removeAllIdentities, .unsupported, .unknown:
            break
        }
    }

    static func key(_ blob: [UInt8]) {
        guard let key = try? SSHPublicKey(blob: blob) else { return }
        invariant(key.blob == blob, "a \(key.typeName) key blob does not re-encode")
    }

    static func signedData(_ data: [UInt8]) {
        if let auth = try? SSHSignedData.userAuthRequest(data) {
            invariant(!auth.sessionID.isEmpty && auth.sessionID.count <= 64, "userauth session id of \(auth.sessionID.count) bytes")
            key(auth.keyBlob)
        }
        if let sig = try? SSHSignedData.sshsig(data) {
            invariant(sig.messageHash.count == (sig.hashAlgorithm == "sha256" ? 32 : 64), "SSHSIG hash of the wrong size")
        }
    }
}
