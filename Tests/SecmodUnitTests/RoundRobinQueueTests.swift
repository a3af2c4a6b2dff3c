@testable import SecmodServer
import Testing

/// The worker queue's fairness, without threads: what a flooding session does to the wait
/// of another session's request.
@Suite struct RoundRobinQueueTests {
    private func drain(_ q: inout RoundRobinQueue<Int, String>) -> [String] {
        var out: [String] = []
        while let job = q.popNext() { out.append(job) }
        return out
    }

    @Test func ownersTakeTurnsAndKeepTheirOwnOrder() {
        var q = RoundRobinQueue<Int, String>()
        for i in 0..<3 { q.append("a\(i)", for: 1) }
        q.append("b0", for: 2)
        q.append("b1", for: 2)
        q.append("c0", for: 3)
        #expect(q.count == 6)
        #expect(drain(&q) == ["a0", "b0", "c0", "a1", "b1", "a2"])
        #expect(q.isEmpty && q.count == 0)
    }

    /// 100,000 jobs of one session queued first; another session's job is taken second.
    @Test func aFloodDelaysAnotherOwnerByOneJob() {
        var q = RoundRobinQueue<Int, String>()
        for _ in 0..<100_000 { q.append("flood", for: 1) }
        _ = q.popNext()
        q.append("good", for: 2)
        #expect(q.popNext() == "flood")  // the flood's turn came before the good job arrived
        #expect(q.popNext() == "good")
        #expect(q.count == 99_998)
    }

    @Test func removingAnOwnersJobsFreesThemAndKeepsOthers() {
        var q = RoundRobinQueue<Int, String>()
        for i in 0..<5 { q.append("a\(i)", for: 1) }
        q.append("b0", for: 2)
        #expect(q.removeAll(of: 1) == 5)
        #expect(q.removeAll(of: 1) == 0)
        #expect(q.count == 1)
        #expect(drain(&q) == ["b0"])
    }

    /// An owner that queues again after its jobs were removed, before its old place in the
    /// turn was reached, still gets one place only: no double share.
    @Test func requeueAfterRemovalGetsOnePlace() {
        var q = RoundRobinQueue<Int, String>()
        q.append("a0", for: 1)
        q.append("b0", for: 2)
        q.append("b1", for: 2)
        q.removeAll(of: 1)
        q.append("a1", for: 1)
        q.append("a2", for: 1)
        #expect(drain(&q) == ["a1", "b0", "a2", "b1"])
    }

    @Test func removeAllEmptiesEverything() {
        var q = RoundRobinQueue<Int, String>()
        q.append("a", for: 1)
        q.append("b", for: 2)
        q.removeAll()
        #expect(q.popNext() == nil && q.isEmpty)
        q.append("c", for: 1)
        #expect(drain(&q) == ["c"])
    }

    /// REQUEST_TIMEOUT drops one request's jobs: the rest of that owner keeps its order and
    /// its place; an owner emptied so is passed over.
    @Test func removingSomeJobsOfAnOwnerKeepsTheRest() {
        var q = RoundRobinQueue<Int, String>()
        q.append("a0", for: 1)
        q.append("x1", for: 1)
        q.append("a2", for: 1)
        q.append("b0", for: 2)
        q.append("x0", for: 3)
        #expect(q.removeAll(of: 1) { $0.hasPrefix("x") } == 1)
        #expect(q.removeAll(of: 3) { $0.hasPrefix("x") } == 1)
        #expect(q.removeAll(of: 4) { _ in true } == 0)
        #expect(q.count == 3)
        #expect(drain(&q) == ["a0", "b0", "a2"])
    }
}
