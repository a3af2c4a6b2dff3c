@testable import SecmodServer
import SecmodSystem

/// A channel on one end of a socket pair, as the loop makes one for a session, with every
/// bound out of the way unless the test sets it.
func testChannel(_ kept: consuming UnixSocket, stream: Bool = false, maxInflight: Int = 1 << 20,
                 maxInflightBytes: Int = 1 << 30, budget: InflightBudget = InflightBudget(limit: 1 << 40)) -> ReplyChannel {
    ReplyChannel(socket: SocketHandle(kept), isStream: stream, maxMessages: 1 << 20, maxBytes: 1 << 30,
                 maxInflight: maxInflight, maxInflightBytes: maxInflightBytes, budget: budget)
}

/// Every message the peer has received so far, without waiting.
func drainMessages(_ peer: borrowing UnixSocket) throws -> [[UInt8]] {
    var got: [[UInt8]] = []
    while let d = try peer.receive(capacity: 64, blocking: false) { got.append(d.bytes) }
    return got
}
