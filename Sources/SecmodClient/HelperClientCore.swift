import SecmodBase
import SecmodCrypto
import SecmodSystem
import SecmodWire

/// What a family's client tells the shared request machinery.
protocol HelperClientFamily: AnyObject {
    var core: HelperClientCore { get }
    /// Message types that answer a request (SIGNATURE, SIGN_FAILURE, BATCH_FAILURE).
    static var replyTypes: Set<UInt16> { get }
    static var syncedType: UInt16 { get }
    /// Forgets the announced keys before a new handshake.
    func resetKeys()
    /// Handles one pushed message (AVAIL or PURGE); throws on anything it does not know.
    func processPush(_ message: [UInt8]) throws(SecmodError)
}

/// Connection state shared by the family clients.
final class HelperClientCore {
    let connection: HelperLink
    var synced = false
    var defaultTimeout: Duration?

    init(socketPath: String, initType: UInt16, transport: HelperTransport) {
        switch transport {
        case .datagram: connection = HelperConnection(socketPath: socketPath, initType: initType)
        case .stream: connection = StreamConnection(socketPath: socketPath)
        }
    }

    func deadline(_ timeout: Duration?) -> Deadline? {
        (timeout ?? defaultTimeout).map { Deadline.after($0) }
    }
}

extension HelperClientFamily {
    /// Handshakes and takes the key dump up to SYNCED.
    func reconnect(deadline: Deadline?) throws(SecmodError) {
        resetKeys()
        core.synced = false
        var message = try core.connection.handshake(deadline: deadline)
        while true {
            try dispatch(message)
            if core.synced { return }
            guard let next = try core.connection.receive(deadline: deadline, nonBlocking: false) else {
                core.connection.close()
                throw SecmodError(.timeout, "helper did not finish announcing its keys before the deadline")
            }
            message = next
        }
    }

    private func dispatch(_ message: [UInt8]) throws(SecmodError) {
        if message == MessageHeader.bare(type: Self.syncedType) {
            core.synced = true
        } else {
            do throws(SecmodError) { try processPush(message) } catch {
                core.connection.close()
                throw error
            }
        }
    }

    /// Sends `messages` one after another and collects replies until `isComplete` says the
    /// replies so far answer them all; pushes in between are handled. If the session is
    /// gone (the helper restarted), it handshakes again and starts over: signing twice is
    /// harmless, and revocation of an already replaced key is ignored by the helper.
    func exchange(_ messages: [[UInt8]], timeout: Duration?, isComplete: ([[UInt8]]) -> Bool) throws(SecmodError) -> [[UInt8]] {
        let deadline = core.deadline(timeout)
        var attempts = 0
        while true {
            attempts += 1
            do throws(SecmodError) {
                if !core.connection.isConnected { try reconnect(deadline: deadline) }
                var replies: [[UInt8]] = []
                for message in messages { try core.connection.send(message) }
                while !isComplete(replies) {
                    guard let reply = try core.connection.receive(deadline: deadline, nonBlocking: false) else {
                        core.connection.close()  // a late reply must not be taken for the next request's
                        throw SecmodError(.timeout, "no reply from the helper before the deadline")
                    }
                    if let h = MessageHeader.peek(reply), Self.replyTypes.contains(h.type) {
                        replies.append(reply)
                    } else {
                        try dispatch(reply)
                    }
                }
                return replies
            } catch where (error.code == .unavailable || error.code == .untrustedHelper) && attempts < 3 {
                // The session is closed either way: handshake again from a fresh one.
                continue
            }
        }
    }

    /// Sends a message that has no reply.
    func sendWithoutReply(_ message: [UInt8]) throws(SecmodError) {
        do throws(SecmodError) {
            if !core.connection.isConnected { try reconnect(deadline: nil) }
            try core.connection.send(message)
        } catch where error.code == .unavailable {
            try reconnect(deadline: nil)
            try core.connection.send(message)
        }
    }

    /// Handles pushes that have already arrived, without blocking.
    func pollPushes() throws(SecmodError) {
        if !core.connection.isConnected { return }
        while let message = try core.connection.receive(deadline: nil, nonBlocking: true) {
            try dispatch(message)
        }
    }

    /// Waits up to `duration` for pushes.
    func waitForPushes(for duration: Duration) throws(SecmodError) {
        let deadline = Deadline.after(duration)
        if !core.connection.isConnected { try reconnect(deadline: deadline) }
        while let message = try core.connection.receive(deadline: deadline, nonBlocking: false) {
            try dispatch(message)
        }
    }
}

/// Checks a module signature and pins the module key on first use.
struct ModuleKeyPin {
    var publicKey: [UInt8]?

    mutating func check(moduleKey: [UInt8], signature: [UInt8], signed: [UInt8], what: String) throws(SecmodError) {
        if let pinned = publicKey, pinned != moduleKey {
            throw SecmodError(.untrustedHelper, "the helper's security module key changed from \(CrockfordBase32.encode(pinned)) to \(CrockfordBase32.encode(moduleKey)); refusing its keys")
        }
        guard Ed25519.verify(signature: signature, message: signed, publicKey: moduleKey) else {
            throw SecmodError(.crypto, "\(what) carries an invalid security module signature")
        }
        publicKey = moduleKey
    }
}
