@testable import SecmodServer
import SecmodSystem
import Testing

/// REQUEST_TIMEOUT in process: the deadlines' order, and a channel that answers an expired
/// request's missing signatures in their place, then ignores the late ones.
@Suite struct RequestTimeoutTests {
    @Test func deadlinesComeDueInOrder() {
        var d = RequestDeadlines()
        #expect(d.next == nil)
        d.add(deadline: 10, session: 1, sequence: 0)
        d.add(deadline: 10, session: 2, sequence: 0)
        d.add(deadline: 25, session: 1, sequence: 1)
        #expect(d.next == 10)
        #expect(d.due(now: 9).isEmpty)
        #expect(d.due(now: 10).map(\.session) == [1, 2])
        #expect(d.next == 25)
        #expect(d.due(now: 100).map(\.sequence) == [1])
        #expect(d.count == 0)
    }

    @Test func anExpiredRequestIsAnsweredInItsPlaceAndLateSignaturesAreDropped() throws {
        let pair = try UnixSocket.pair(.seqpacket)
        let c = testChannel(pair.kept, maxInflight: 4)
        let first = c.open(PendingReply(parts: [nil, [0x02]], missing: 1, trailer: nil, requestBytes: 10))
        let second = c.open(PendingReply(parts: [nil], missing: 1, trailer: nil, requestBytes: 10))
        // The second is signed; the first hangs in a token.
        _ = c.complete(sequence: second, index: 0, reply: [0x20])
        #expect(try drainMessages(pair.passed).isEmpty)
        #expect(!c.isAnswered(sequence: first, index: 0))
        #expect(c.expire(sequence: first, failure: [0xFF]) == 1)
        #expect(try drainMessages(pair.passed) == [[0xFF], [0x02], [0x20]])
        #expect(c.isAnswered(sequence: first, index: 0))
        // The hung call returns at last: nothing more goes out, and in-flight counts stay right.
        _ = c.complete(sequence: first, index: 0, reply: [0x01])
        #expect(try drainMessages(pair.passed).isEmpty)
        #expect(c.expire(sequence: first, failure: [0xFF]) == 0)
        #expect(c.expire(sequence: second, failure: [0xFF]) == 0)
        // Four more requests fit under SESSION_MAX_INFLIGHT = 4: nothing was counted twice.
        for _ in 0..<3 { _ = c.open(PendingReply(parts: [nil], missing: 1, trailer: nil, requestBytes: 10)) }
        #expect(!c.status.atInflightBound)
        _ = c.open(PendingReply(parts: [nil], missing: 1, trailer: nil, requestBytes: 10))
        #expect(c.status.atInflightBound)
    }
}
