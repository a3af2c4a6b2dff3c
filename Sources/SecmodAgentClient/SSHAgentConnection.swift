import SecmodBase
import SecmodSystem
import SecmodWire
#if canImport(Glibc)
import Glibc
#endif

/// A key an agent offers: its SSH key blob and comment.
public struct AgentIdentity: Sendable, Equatable {
    public let blob: [UInt8]
    public let comment: String

    /// The key, parsed (nil for a kind this library does not know).
    public var publicKey: SSHPublicKey? { try? SSHPublicKey(blob: blob) }

    /// `ssh-ed25519 AAAA… comment`, as `ssh-add -L` prints it.
    public var openSSHLine: String {
        let type = publicKey?.typeName ?? "unknown"
        return "\(type) \(Base64.encode(blob))" + (comment.isEmpty ? "" : " \(comment)")
    }
}

/// One connection to an ssh-agent (`secmod-agent`, or OpenSSH's), with blocking calls that
/// each give up at a deadline. Calls on one connection are answered in order; use one
/// connection per thread. A call that times out closes the connection (its answer may still
/// come), and the next call reconnects.
public final class SSHAgentConnection {
    public let socketPath: String
    private var handle: SocketHandle?
    private var buffer: [UInt8] = []

    public init(socketPath: String) {
        self.socketPath = socketPath
        ignoreBrokenPipeSignal()
    }

    public func close() {
        handle = nil
        buffer.removeAll()
    }

    /// REQUEST_IDENTITIES.
    public func identities(timeout: Duration) throws(SecmodError) -> [AgentIdentity] {
        let reply = try call([AgentMessageType.requestIdentities], timeout: timeout)
        guard reply.first == AgentMessageType.identitiesAnswer else { throw refused(reply, "REQUEST_IDENTITIES") }
        var r = SSHReader(reply.dropFirst())
        let count = try r.uint32("key count")
        guard count <= 4096 else { throw SecmodError(.malformed, "the agent announces \(count) keys") }
        var keys: [AgentIdentity] = []
        for _ in 0..<count {
            let blob = try r.string("key blob", maximum: AgentRequest.maximumKeyBlob)
            let comment = String(decoding: try r.string("comment", maximum: 4096), as: UTF8.self)
            keys.append(AgentIdentity(blob: blob, comment: comment))
        }
        try r.end("IDENTITIES_ANSWER")
        return keys
    }

    /// SIGN_REQUEST: the signature blob's algorithm and bytes.
    public func sign(keyBlob: [UInt8], data: [UInt8], flags: AgentSignFlags = [], timeout: Duration) throws(SecmodError) -> SSHSignature {
        var w = SSHWriter()
        w.byte(AgentMessageType.signRequest)
        w.string(keyBlob)
        w.string(data)
        w.uint32(flags.rawValue)
        let reply = try call(w.bytes, timeout: timeout)
        guard reply.first == AgentMessageType.signResponse else { throw refused(reply, "SIGN_REQUEST") }
        var r = SSHReader(reply.dropFirst())
        let blob = try r.string("signature", maximum: 4096)
        try r.end("SIGN_RESPONSE")
        return try SSHSignature(encoded: blob)
    }

    /// `tor-hs-blinded-key@swift-secmod`: the blinded public key A' of an onion-service
    /// identity key for one time period.
    public func blindedKey(keyBlob: [UInt8], periodNumber: UInt64, periodLengthMinutes: UInt64,
                           timeout: Duration) throws(SecmodError) -> [UInt8] {
        try blinding(OnionBlindingExtension.blindedKeyName, keyBlob, periodNumber, periodLengthMinutes, nil, timeout).key
    }

    /// `tor-hs-blind-sign@swift-secmod`: A' and the Ed25519 signature of `data` under it.
    public func blindSign(keyBlob: [UInt8], periodNumber: UInt64, periodLengthMinutes: UInt64, data: [UInt8],
                          timeout: Duration) throws(SecmodError) -> (blindedKey: [UInt8], signature: [UInt8]) {
        let (key, signature) = try blinding(OnionBlindingExtension.blindSignName, keyBlob, periodNumber, periodLengthMinutes, data, timeout)
        return (key, signature ?? [])
    }

    private func blinding(_ name: String, _ blob: [UInt8], _ period: UInt64, _ length: UInt64, _ data: [UInt8]?,
                          _ timeout: Duration) throws(SecmodError) -> (key: [UInt8], signature: [UInt8]?) {
        var w = SSHWriter()
        w.byte(AgentMessageType.extension)
        w.string(name)
        w.string(blob)
        w.uint64(period)
        w.uint64(length)
        if let data { w.string(data) }
        let reply = try call(w.bytes, timeout: timeout)
        guard let contents = AgentReply.extensionContents(reply, name: name) else { throw refused(reply, name) }
        var r = SSHReader(contents)
        let key = try r.string("blinded key", maximum: 32)
        let signature = data == nil ? nil : try r.string("signature", maximum: 64)
        try r.end(name)
        guard key.count == 32, signature.map({ $0.count == 64 }) ?? true else { throw SecmodError(.malformed, "\(name): wrong sizes in the reply") }
        return (key, signature)
    }

    /// The `query` extension: the extensions the agent serves.
    public func extensions(timeout: Duration) throws(SecmodError) -> [String] {
        var w = SSHWriter()
        w.byte(AgentMessageType.extension)
        w.string(QueryExtension.name)
        let reply = try call(w.bytes, timeout: timeout)
        guard let contents = AgentReply.extensionContents(reply, name: QueryExtension.name) else { throw refused(reply, "query") }
        return try QueryExtension.parseReply(contents)
    }

    public func lock(passphrase: [UInt8], timeout: Duration) throws(SecmodError) {
        try simple(AgentMessageType.lock, passphrase, "LOCK", timeout)
    }

    public func unlock(passphrase: [UInt8], timeout: Duration) throws(SecmodError) {
        try simple(AgentMessageType.unlock, passphrase, "UNLOCK", timeout)
    }

    private func simple(_ type: UInt8, _ passphrase: [UInt8], _ what: String, _ timeout: Duration) throws(SecmodError) {
        var w = SSHWriter()
        w.byte(type)
        w.string(passphrase)
        let reply = try call(w.bytes, timeout: timeout)
        guard reply == AgentReply.success else { throw refused(reply, what) }
    }

    private func refused(_ reply: [UInt8], _ what: String) -> SecmodError {
        switch reply.first {
        case AgentMessageType.failure, AgentMessageType.extensionFailure:
            SecmodError(.agentRefused, "the agent refused \(what)")
        default:
            SecmodError(.malformed, "the agent answered \(what) with message type \(reply.first.map(String.init) ?? "none")")
        }
    }

    /// Sends one message (type byte first) and returns the answer's payload.
    public func call(_ payload: [UInt8], timeout: Duration) throws(SecmodError) -> [UInt8] {
        let deadline = Self.deadline(after: timeout)
        do throws(SecmodError) {
            let socket = try connected(deadline)
            try write(AgentFraming.frame(payload), socket, deadline)
            return try readMessage(socket, deadline)
        } catch {
            close()
            throw error
        }
    }

    /// Connects without blocking: an AF_UNIX connect to a listener whose backlog is full
    /// blocks until the listener accepts, so a busy or stalled agent would hold a blocking
    /// connect past any deadline. Non-blocking, it fails with EAGAIN instead, and is tried
    /// again every 10 ms until the call's deadline.
    private func connected(_ deadline: UInt64) throws(SecmodError) -> SocketHandle {
        if let handle { return handle }
        let socket = try UnixSocket(.stream, nonBlocking: true)
        let address = try UnixAddress(path: socketPath)
        while true {
            do throws(Errno) {
                try socket.connect(to: address)
                break
            } catch {
                guard error.rawValue == EAGAIN else {
                    throw error.error("connecting to the agent at \(socketPath)", code: .unavailable)
                }
                guard Clock.monotonicMicroseconds() < deadline else {
                    throw SecmodError(.timeout, "the agent at \(socketPath) accepted no connection in time (its backlog is full)")
                }
                var idle = PollSet()
                do throws(Errno) { _ = try idle.wait(timeoutMilliseconds: 10) } catch {
                    throw error.error("poll", code: .unavailable)
                }
            }
        }
        let handle = SocketHandle(socket)
        self.handle = handle
        return handle
    }

    private func write(_ bytes: [UInt8], _ handle: SocketHandle, _ deadline: UInt64) throws(SecmodError) {
        var offset = 0
        while offset < bytes.count {
            let n: Int
            do throws(Errno) { n = try handle.socket.writeSome(bytes, from: offset) } catch {
                throw error.error("writing to the agent", code: .unavailable)
            }
            offset += n
            if n == 0 { try wait(handle, .writable, deadline) }
        }
    }

    private func readMessage(_ handle: SocketHandle, _ deadline: UInt64) throws(SecmodError) -> [UInt8] {
        while true {
            switch AgentFraming.next(in: buffer, from: 0, to: buffer.count) {
            case let .message(payload, consumed):
                let message = Array(payload)
                buffer.removeFirst(consumed)
                return message
            case let .invalid(length):
                throw SecmodError(.malformed, "the agent announced a message of \(length) bytes")
            case .incomplete:
                var chunk = [UInt8](repeating: 0, count: 65536)
                let got: (count: Int, credentials: PeerCredentials?)?
                do throws(Errno) { got = try handle.socket.readSome(into: &chunk, at: 0) } catch {
                    throw error.error("reading from the agent", code: .unavailable)
                }
                guard let got else { try wait(handle, .readable, deadline); continue }
                guard got.count > 0 else { throw SecmodError(.unavailable, "the agent closed the connection") }
                buffer += chunk[0..<got.count]
            }
        }
    }

    private func wait(_ handle: SocketHandle, _ events: PollEvents, _ deadline: UInt64) throws(SecmodError) {
        let now = Clock.monotonicMicroseconds()
        guard now < deadline else { throw SecmodError(.timeout, "the agent did not answer in time") }
        var polls = PollSet()
        polls.add(handle.socket.rawValue, events)
        let left = deadline - now
        do throws(Errno) { _ = try polls.wait(timeoutMilliseconds: Int32(min(left / 1000 + 1, 60_000))) } catch {
            throw error.error("poll", code: .unavailable)
        }
    }

    static func deadline(after duration: Duration) -> UInt64 {
        let now = Clock.monotonicMicroseconds()
        guard duration > .zero else { return now }
        guard duration < .seconds(1_000_000_000) else { return .max }
        let (seconds, attoseconds) = duration.components
        return now &+ UInt64(seconds) * 1_000_000 &+ UInt64(attoseconds / 1_000_000_000_000)
    }
}
