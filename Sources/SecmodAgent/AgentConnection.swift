import SecmodBase
import SecmodSystem
import SecmodWire

/// One client connection: its socket, what it sent that is not handled yet, what waits to
/// be sent, and its one request in progress. Owned by the loop.
///
/// A connection has at most one request at a worker and at most one message's worth of
/// unread input (256 KiB): past that the loop stops reading it, so a client that floods
/// pays with its own latency and nobody else's, and its memory is bounded.
final class AgentConnection {
    let socket: SocketHandle
    var state: AgentConnectionState
    var id: UInt64 { state.id }
    /// Received bytes not yet handled, `input[inputStart..<inputEnd]`.
    var input: [UInt8] = []
    var inputStart = 0
    var inputEnd = 0
    /// Bytes to send, from `outboxOffset`.
    var outbox: [UInt8] = []
    var outboxOffset = 0
    /// The request at a worker (its sequence number), if any.
    var pending: UInt64?
    /// Requests answered at REQUEST_TIMEOUT whose worker has not returned yet.
    var abandoned = 0
    var sequence: UInt64 = 0
    var peerClosed = false
    var closed = false
    /// The epoll interest last set.
    var interest: PollEvents = .readable

    /// Room for one whole message of the largest size, its length field included.
    static let inputCapacity = AgentFraming.maximumMessageSize + 4

    init(socket: SocketHandle, state: AgentConnectionState) {
        self.socket = socket
        self.state = state
    }

    var hasOutput: Bool { outboxOffset < outbox.count }
    var inputIsFull: Bool { inputEnd - inputStart >= Self.inputCapacity }

    /// Reads what the socket has, up to the capacity. False at end of file. `writer`: who
    /// wrote the bytes (`SO_PASSCRED`), which may differ from who connected when the
    /// descriptor was passed on to another process.
    func read(writer: inout PeerCredentials?) throws(Errno) -> Bool {
        if inputStart > 0 { compact() }
        let want = min(Self.inputCapacity, max(input.count * 2, 4096))
        if input.count < want { input += [UInt8](repeating: 0, count: want - input.count) }
        guard inputEnd < input.count else { return true }
        guard let (n, credentials) = try socket.socket.readSome(into: &input, at: inputEnd) else { return true }
        if n == 0 { return false }
        writer = credentials
        inputEnd += n
        return true
    }

    /// Moves unread input to the front; the bytes it leaves behind are zeroed, since they may
    /// have held a passphrase or an added key.
    func compact() {
        let count = inputEnd - inputStart
        if count > 0 { input.withUnsafeMutableBufferPointer { b in
            b.baseAddress!.update(from: b.baseAddress! + inputStart, count: count)
        } }
        for i in count..<inputEnd { input[i] = 0 }
        inputStart = 0
        inputEnd = count
    }

    /// Zeroes consumed input in place (`handled` bytes before `inputStart`).
    func wipeConsumed(from start: Int) {
        for i in start..<inputStart { input[i] = 0 }
    }

    func queue(_ payload: [UInt8]) {
        if outboxOffset == outbox.count {
            outbox.removeAll(keepingCapacity: true)
            outboxOffset = 0
        }
        outbox += AgentFraming.frame(payload)
    }

    /// Writes what it can without blocking.
    func flush() throws(Errno) {
        while hasOutput {
            let n = try socket.socket.writeSome(outbox, from: outboxOffset)
            if n == 0 { return }
            outboxOffset += n
        }
    }
}
