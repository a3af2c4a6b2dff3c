@testable import SecmodServer
import SecmodSystem
import Testing

/// When a batch's replies leave (`ReplyChannel.queueCompleted`): in order, as they are
/// made, in groups of `PendingReply.group`; the trailer after the last; later requests only
/// after the whole of the one before. A client that checks each reply (ours checks every
/// RSA signature) then works while the helper still signs, instead of after it.
@Suite struct ReplyChannelProgressTests {
    private func batch(_ signatures: Int, group: Int, trailer: [UInt8]? = nil) -> PendingReply {
        var reply = PendingReply(parts: [[UInt8]?](repeating: nil, count: signatures), missing: signatures, trailer: trailer,
                                 requestBytes: 10)
        reply.group = group
        return reply
    }

    @Test func repliesLeaveAsTheyAreMadeInOrder() throws {
        let pair = try UnixSocket.pair(.seqpacket)
        let c = testChannel(pair.kept)
        let s = c.open(batch(4, group: 1, trailer: [0xEE]))
        _ = c.complete(sequence: s, index: 0, reply: [0])
        #expect(try drainMessages(pair.passed) == [[0]], "the first reply leaves before the batch is whole")
        _ = c.complete(sequence: s, index: 2, reply: [2])
        #expect(try drainMessages(pair.passed).isEmpty, "the third waits for the second")
        _ = c.complete(sequence: s, index: 1, reply: [1])
        #expect(try drainMessages(pair.passed) == [[1], [2]])
        #expect(c.status.hasPending)
        _ = c.complete(sequence: s, index: 3, reply: [3])
        #expect(try drainMessages(pair.passed) == [[3], [0xEE]], "the trailer comes after the last reply")
        #expect(!c.status.hasPending)
    }

    @Test func repliesLeaveInGroupsAndTheLastGroupMayBeSmaller() throws {
        let pair = try UnixSocket.pair(.seqpacket)
        let c = testChannel(pair.kept)
        let s = c.open(batch(5, group: 2))
        _ = c.complete(sequence: s, index: 0, reply: [0])
        #expect(try drainMessages(pair.passed).isEmpty, "one reply is less than a group")
        _ = c.complete(sequence: s, index: 1, reply: [1])
        #expect(try drainMessages(pair.passed) == [[0], [1]])
        _ = c.complete(sequence: s, index: 2, reply: [2])
        _ = c.complete(sequence: s, index: 4, reply: [4])
        #expect(try drainMessages(pair.passed).isEmpty)
        _ = c.complete(sequence: s, index: 3, reply: [3])
        #expect(try drainMessages(pair.passed) == [[2], [3], [4]])
    }

    /// Quick signatures (Ed25519, Clause-Schnorr) keep the default: the whole batch in one
    /// send, since a wake-up of the client per group would cost more than the signatures.
    @Test func byDefaultABatchLeavesWhole() throws {
        let pair = try UnixSocket.pair(.seqpacket)
        let c = testChannel(pair.kept)
        let s = c.open(PendingReply(parts: [nil, nil, nil], missing: 3, trailer: nil, requestBytes: 10))
        _ = c.complete(sequence: s, replies: [(0, [0]), (1, [1])])
        #expect(try drainMessages(pair.passed).isEmpty)
        _ = c.complete(sequence: s, index: 2, reply: [2])
        #expect(try drainMessages(pair.passed) == [[0], [1], [2]])
    }

    @Test func aLaterRequestWaitsForTheWholeOfTheOneBefore() throws {
        let pair = try UnixSocket.pair(.seqpacket)
        let c = testChannel(pair.kept)
        let first = c.open(batch(3, group: 1))
        let second = c.open(batch(1, group: 1))
        c.push([0xA0])
        _ = c.complete(sequence: second, index: 0, reply: [0x20])
        _ = c.complete(sequence: first, index: 0, reply: [0x10])
        #expect(try drainMessages(pair.passed) == [[0x10]])
        _ = c.complete(sequence: first, index: 2, reply: [0x12])
        #expect(try drainMessages(pair.passed).isEmpty)
        _ = c.complete(sequence: first, index: 1, reply: [0x11])
        #expect(try drainMessages(pair.passed) == [[0x11], [0x12], [0x20], [0xA0]])
    }

    /// Refusals filled in when the request is read (an unknown key in a batch) go at once
    /// when they come first.
    @Test func answersKnownAtOnceLeaveAtOnce() throws {
        let pair = try UnixSocket.pair(.seqpacket)
        let c = testChannel(pair.kept)
        var reply = PendingReply(parts: [[0xF0], [0xF1], nil], missing: 1, trailer: nil, requestBytes: 10)
        reply.group = 1
        let s = c.open(reply)
        #expect(try drainMessages(pair.passed) == [[0xF0], [0xF1]])
        _ = c.complete(sequence: s, index: 2, reply: [2])
        #expect(try drainMessages(pair.passed) == [[2]])
    }

    /// REQUEST_TIMEOUT answers only what is still missing, and what left already is not
    /// sent again; signatures that come after the request was answered are dropped.
    @Test func aTimeoutAfterPartOfABatchLeftAnswersTheRestOnce() throws {
        let pair = try UnixSocket.pair(.seqpacket)
        let c = testChannel(pair.kept)
        let s = c.open(batch(3, group: 1, trailer: [0xEE]))
        _ = c.complete(sequence: s, index: 0, reply: [0])
        #expect(try drainMessages(pair.passed) == [[0]])
        #expect(c.isAnswered(sequence: s, index: 0))
        #expect(!c.isAnswered(sequence: s, index: 1))
        #expect(c.expire(sequence: s, failure: [0xFA]) == 2)
        #expect(try drainMessages(pair.passed) == [[0xFA], [0xFA], [0xEE]])
        _ = c.complete(sequence: s, index: 1, reply: [1])
        _ = c.complete(sequence: s, index: 0, reply: [0])
        #expect(try drainMessages(pair.passed).isEmpty)
    }

    /// A second completion of a slot already sent (a worker whose job was also answered
    /// otherwise) is dropped while its request is still pending: not sent again, and not
    /// counted out of flight twice, which would let the session past SESSION_MAX_INFLIGHT.
    @Test func aSlotAlreadySentIsNotCompletedTwice() throws {
        let pair = try UnixSocket.pair(.seqpacket)
        let c = testChannel(pair.kept, maxInflight: 2)
        let s = c.open(batch(3, group: 1))
        #expect(c.status.atInflightBound)
        _ = c.complete(sequence: s, index: 0, reply: [0])
        #expect(try drainMessages(pair.passed) == [[0]])
        #expect(c.status.atInflightBound, "two of three still in flight, at a bound of two")
        _ = c.complete(sequence: s, index: 0, reply: [0x99])
        #expect(try drainMessages(pair.passed).isEmpty)
        #expect(c.status.atInflightBound, "the duplicate was counted out of flight")
        _ = c.complete(sequence: s, index: 1, reply: [1])
        _ = c.complete(sequence: s, index: 2, reply: [2])
        #expect(try drainMessages(pair.passed) == [[1], [2]])
        #expect(!c.status.atInflightBound && !c.status.hasPending)
    }
}
