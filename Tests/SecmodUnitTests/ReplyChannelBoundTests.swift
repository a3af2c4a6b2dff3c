@testable import SecmodServer
import SecmodSystem
import Testing

/// The backpressure rule of one session (`ReplyChannel`), without an engine: when the loop
/// must stop reading a session, and when a worker's completion must wake it to read again.
@Suite struct ReplyChannelBoundTests {
    private func request(signatures: Int, bytes: Int) -> PendingReply {
        PendingReply(parts: [[UInt8]?](repeating: nil, count: signatures), missing: signatures, trailer: nil,
                     requestBytes: bytes)
    }

    @Test func signaturesInFlightStopReadingAndTheCompletionBelowTheBoundWakesTheLoop() throws {
        let pair = try UnixSocket.pair(.seqpacket)
        let c = testChannel(pair.kept, maxInflight: 4, maxInflightBytes: 1 << 20)
        let first = c.open(request(signatures: 3, bytes: 100))
        #expect(!c.status.atInflightBound)
        let second = c.open(request(signatures: 1, bytes: 100))
        #expect(c.status.atInflightBound)
        // The first completion takes the session below the bound: the loop must hear of it.
        #expect(c.complete(sequence: second, index: 0, reply: [1]) == .loop)
        #expect(!c.status.atInflightBound)
        // Below the bound, a completion whose reply the kernel takes needs no loop.
        #expect(c.complete(sequence: first, index: 0, reply: [2]) == .none)
    }

    @Test func requestBytesStopReadingUntilTheirLastSignatureIsMade() throws {
        let pair = try UnixSocket.pair(.seqpacket)
        let c = testChannel(pair.kept, maxInflight: 1024, maxInflightBytes: 65536)
        let small = c.open(request(signatures: 2, bytes: 40_000))
        #expect(!c.status.atInflightBound)
        let large = c.open(request(signatures: 1, bytes: 30_000))
        #expect(c.status.atInflightBound)
        // Half of the first request is signed: its bytes still count.
        #expect(c.complete(sequence: small, index: 0, reply: [1]) == .none)
        #expect(c.status.atInflightBound)
        #expect(c.complete(sequence: small, index: 1, reply: [2]) == .loop)
        #expect(!c.status.atInflightBound)
        _ = c.complete(sequence: large, index: 0, reply: [3])
    }

    /// MAX_INFLIGHT_BYTES across sessions: while one session's requests exhaust it, another
    /// session with work in flight is not read, one with none still is; the release that
    /// takes the budget below three quarters wakes the loop, and a closed session's bytes
    /// come back.
    @Test func theHelperWideBudgetHoldsBackSessionsWithWorkInFlight() throws {
        let budget = InflightBudget(limit: 100_000)
        let pairA = try UnixSocket.pair(.seqpacket)
        let pairB = try UnixSocket.pair(.seqpacket)
        let pairC = try UnixSocket.pair(.seqpacket)
        let a = testChannel(pairA.kept, maxInflight: 1024, maxInflightBytes: 1 << 20, budget: budget)
        let b = testChannel(pairB.kept, maxInflight: 1024, maxInflightBytes: 1 << 20, budget: budget)
        let c = testChannel(pairC.kept, maxInflight: 1024, maxInflightBytes: 1 << 20, budget: budget)
        let first = a.open(request(signatures: 1, bytes: 60_000))
        let small = b.open(request(signatures: 1, bytes: 100))
        #expect(!a.status.atInflightBound && !b.status.atInflightBound)
        let second = a.open(request(signatures: 1, bytes: 60_000))
        #expect(budget.isHolding)
        #expect(a.status.atInflightBound && a.status.heldByBudget)
        #expect(b.status.atInflightBound && b.status.heldByBudget, "b has work in flight")
        #expect(!c.status.atInflightBound, "c has none: it is still read")
        // 120,100 → 60,100: below the resume mark of 75,000.
        #expect(a.complete(sequence: first, index: 0, reply: [1]) == .loop)
        #expect(!b.status.atInflightBound && !a.status.atInflightBound)
        #expect(b.complete(sequence: small, index: 0, reply: [2]) == .none)
        // A close gives back what its session held.
        let third = b.open(request(signatures: 1, bytes: 60_000))
        #expect(budget.isHolding)
        #expect(b.close(), "closing b takes the budget below the resume mark")
        #expect(budget.bytes == 60_000)
        #expect(!a.status.atInflightBound)
        _ = third
        _ = a.complete(sequence: second, index: 0, reply: [3])
        #expect(budget.bytes == 0)
    }

    /// The hold lasts until the bytes fall below three quarters of the bound, not just below
    /// it: otherwise every dip re-armed every paused session, one signature at a time.
    @Test func theBudgetHoldsUntilThreeQuarters() {
        let budget = InflightBudget(limit: 100_000)
        budget.charge(101_000)
        #expect(budget.isHolding)
        #expect(!budget.release(2_000), "99,000 is below the bound but above 75,000")
        #expect(budget.isHolding)
        #expect(budget.release(30_000), "69,000: the hold ends, and this release says so")
        #expect(!budget.isHolding)
        #expect(!budget.release(1_000), "no hold to end")
    }

    /// A session at its own bound while the budget holds (found by review): its completion
    /// takes it below its own bound, and the loop must hear of it, to file it among the
    /// sessions the budget holds; it is reported as held, and the release that ends the hold
    /// wakes the loop.
    @Test func aSessionAtItsOwnBoundWhileTheBudgetHoldsIsNotForgotten() throws {
        let budget = InflightBudget(limit: 100_000)
        let pairA = try UnixSocket.pair(.seqpacket)
        let pairB = try UnixSocket.pair(.seqpacket)
        let a = testChannel(pairA.kept, maxInflight: 2, maxInflightBytes: 1 << 20, budget: budget)
        let b = testChannel(pairB.kept, maxInflight: 1024, maxInflightBytes: 1 << 20, budget: budget)
        let a1 = a.open(request(signatures: 1, bytes: 10))
        let a2 = a.open(request(signatures: 1, bytes: 10))
        let big = b.open(request(signatures: 1, bytes: 120_000))
        #expect(a.status.atInflightBound && a.status.heldByBudget)
        #expect(a.complete(sequence: a1, index: 0, reply: [1]) == .loop, "below its own bound: the loop must look")
        #expect(a.status.atInflightBound && a.status.heldByBudget, "still held by the budget, and says so")
        #expect(b.complete(sequence: big, index: 0, reply: [2]) == .loop, "the release that ends the hold")
        #expect(!a.status.atInflightBound)
        _ = a.complete(sequence: a2, index: 0, reply: [3])
        #expect(budget.bytes == 0)
    }

    /// A client that sends without reading: its replies wait in the outbox, and they count,
    /// so the helper stops reading it instead of growing the outbox towards its byte bound.
    @Test func repliesTheClientDoesNotReadCountAgainstTheBound() throws {
        let pair = try UnixSocket.pair(.seqpacket)
        try pair.kept.setSendBufferSize(4096)
        let peer = pair.passed
        let c = testChannel(pair.kept, maxInflight: 8, maxInflightBytes: 1 << 20)
        let sequences = (0..<64).map { _ in c.open(request(signatures: 1, bytes: 10)) }
        for sequence in sequences { _ = c.complete(sequence: sequence, index: 0, reply: [UInt8](repeating: 7, count: 1000)) }
        #expect(c.status.wantsWrite, "a 4 KiB send buffer cannot hold 64 KB of replies")
        #expect(c.status.atInflightBound, "no signature is in flight, but the unread replies are")
        var received = 0
        var buffer = [UInt8](repeating: 0, count: 2048)
        // A client that takes some replies is not stalled: the stall clock starts again.
        let stalledSince = try #require(c.status.blockedSince)
        while try peer.receive(into: &buffer, blocking: false) != nil { received += 1 }
        c.flushOutbox()
        #expect(c.status.wantsWrite, "64 replies do not fit in one drain")
        #expect(try #require(c.status.blockedSince) > stalledSince)
        while c.status.wantsWrite {
            while try peer.receive(into: &buffer, blocking: false) != nil { received += 1 }
            c.flushOutbox()
        }
        while try peer.receive(into: &buffer, blocking: false) != nil { received += 1 }
        #expect(received == 64)
        #expect(!c.status.atInflightBound)
    }
}
