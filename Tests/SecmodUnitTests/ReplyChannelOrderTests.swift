@testable import SecmodServer
import SecmodSystem
import Testing

/// The order of what leaves one session (`ReplyChannel`, dgram-transport.md §6.6): replies
/// in request order, and a push after the replies to every request read before it, so that
/// a PURGE never overtakes a signature made by the key it purges.
@Suite struct ReplyChannelOrderTests {
    private func channel(_ kept: consuming UnixSocket) -> ReplyChannel {
        ReplyChannel(socket: SocketHandle(kept), isStream: false, maxMessages: 1 << 20, maxBytes: 1 << 30,
                     maxInflight: 1 << 20, maxInflightBytes: 1 << 30, budget: InflightBudget(limit: 1 << 40))
    }

    private func request(signatures: Int) -> PendingReply {
        PendingReply(parts: [[UInt8]?](repeating: nil, count: signatures), missing: signatures, trailer: nil, requestBytes: 10)
    }

    /// Everything the peer has received so far, without waiting.
    private func drain(_ peer: borrowing UnixSocket) throws -> [[UInt8]] {
        var got: [[UInt8]] = []
        while let d = try peer.receive(capacity: 64, blocking: false) { got.append(d.bytes) }
        return got
    }

    @Test func aPushWithNothingPendingGoesAtOnce() throws {
        let pair = try UnixSocket.pair(.seqpacket)
        let c = channel(pair.kept)
        c.push([0xA0])
        #expect(try drain(pair.passed) == [[0xA0]])
    }

    @Test func aPurgeWaitsForTheSignaturesOfRequestsReadBeforeIt() throws {
        let pair = try UnixSocket.pair(.seqpacket)
        let c = channel(pair.kept)
        let first = c.open(request(signatures: 2))
        let second = c.open(request(signatures: 1))
        c.push([0xA1])  // the key expired or was revoked while both were queued
        let third = c.open(request(signatures: 1))
        #expect(try drain(pair.passed).isEmpty, "the push must not overtake the replies ahead of it")
        // Out of order: the third request and half of the first finish first.
        _ = c.complete(sequence: third, index: 0, reply: [3])
        _ = c.complete(sequence: first, index: 1, reply: [0x12])
        #expect(try drain(pair.passed).isEmpty)
        _ = c.complete(sequence: first, index: 0, reply: [0x11])
        #expect(try drain(pair.passed) == [[0x11], [0x12]])
        _ = c.complete(sequence: second, index: 0, reply: [2])
        // The second reply, then the push, then the request read after the push.
        #expect(try drain(pair.passed) == [[2], [0xA1], [3]])
        #expect(!c.status.hasPending)
        c.push([0xA2])
        #expect(try drain(pair.passed) == [[0xA2]])
    }

    @Test func pushesKeepTheirOwnOrder() throws {
        let pair = try UnixSocket.pair(.seqpacket)
        let c = channel(pair.kept)
        let only = c.open(request(signatures: 1))
        c.push([0xB1])
        c.push([0xB2])
        _ = c.complete(sequence: only, index: 0, reply: [1])
        #expect(try drain(pair.passed) == [[1], [0xB1], [0xB2]])
    }
}
