@testable import SecmodServer
import SecmodSystem
import Testing

/// The session bookkeeping without sockets: the cap and whom it evicts, epoll interest from
/// the channel's state, the blocked timeout and the listener's pause, with a fake clock (µs).
@Suite struct SessionTableTests {
    private func open(_ table: inout SessionTable, at now: UInt64) -> UInt64 {
        let (id, effects) = table.reserve(now: now)
        #expect(effects.isEmpty)
        table.opened(id, now: now)
        return id
    }

    @Test func atTheCapTheSessionIdleLongestMakesRoom() {
        var table = SessionTable(cap: 3, blockedTimeout: 10_000_000)
        let a = open(&table, at: 100), b = open(&table, at: 200), c = open(&table, at: 300)
        table.activity(a, now: 400)  // a spoke last: b is now the idlest
        let (d, effects) = table.reserve(now: 500)
        #expect(effects == [.close(b, .capReached(3))])
        #expect(Set([a, b, c, d]).count == 4, "every session gets its own id")
        _ = table.closed(b)
        table.opened(d, now: 500)
        #expect(table.count == 3)
        // Below the cap nobody is evicted.
        _ = table.closed(c)
        #expect(table.reserve(now: 600).effects.isEmpty)
    }

    @Test func equalActivityEvictsTheOlderSession() {
        var table = SessionTable(cap: 2, blockedTimeout: 10_000_000)
        let a = open(&table, at: 100), _ = open(&table, at: 100)
        #expect(table.reserve(now: 200).effects == [.close(a, .capReached(2))])
    }

    @Test func interestFollowsTheChannel() {
        var table = SessionTable(cap: 10, blockedTimeout: 10_000_000)
        let s = open(&table, at: 0)
        // Opened for reading: nothing changes while the channel asks for nothing else.
        #expect(table.channelChanged(s, .init()).isEmpty)
        // At its in-flight bound: not read (backpressure).
        #expect(table.channelChanged(s, .init(atInflightBound: true)) == [.watch(s, [])])
        #expect(table.channelChanged(s, .init(atInflightBound: true)).isEmpty, "no epoll call when nothing changes")
        // Its outbox fills: watched for writing, and counted as waiting on the kernel.
        #expect(table.channelChanged(s, .init(wantsWrite: true, atInflightBound: true, blockedSince: 5)) == [.watch(s, .writable)])
        #expect(table.writeWaiting == [s] && table.needsFrequentTurns)
        #expect(table.channelChanged(s, .init(wantsWrite: true)) == [.watch(s, [.readable, .writable])])
        #expect(table.channelChanged(s, .init()) == [.watch(s, .readable)])
        #expect(table.writeWaiting.isEmpty && !table.needsFrequentTurns)
        // Held by the helper-wide budget: remembered, so that the budget's release can wake it.
        #expect(table.channelChanged(s, .init(atInflightBound: true, heldByBudget: true)) == [.watch(s, [])])
        #expect(table.budgetPaused == [s])
        _ = table.closed(s)
        #expect(table.budgetPaused.isEmpty)
        #expect(table.channelChanged(s, .init(wantsWrite: true)).isEmpty, "a closed session is not watched again")
    }

    @Test func aSessionBlockedLongerThanTheTimeoutIsClosed() {
        var table = SessionTable(cap: 10, blockedTimeout: 2_000_000)
        let slow = open(&table, at: 0), reading = open(&table, at: 0), idle = open(&table, at: 0)
        _ = table.channelChanged(slow, .init(wantsWrite: true, blockedSince: 1_000_000))
        _ = table.channelChanged(reading, .init(wantsWrite: true, blockedSince: 2_500_000))
        var states: [UInt64: SessionTable.ChannelState] = [
            slow: .init(wantsWrite: true, blockedSince: 1_000_000),
            reading: .init(wantsWrite: true, blockedSince: 2_500_000),
            idle: .init(),
        ]
        #expect(table.tick(now: 3_000_000, state: { states[$0] }).isEmpty, "exactly at the timeout: not yet")
        #expect(table.tick(now: 3_100_001, state: { states[$0] }) == [.close(slow, .blocked)])
        _ = table.closed(slow)
        // The check runs at most every 100 ms, and a worker's newer timestamp never underflows.
        states[reading] = .init(wantsWrite: true, blockedSince: 9_000_000)
        #expect(table.tick(now: 5_000_000, state: { states[$0] }).isEmpty)
        #expect(table.tick(now: 5_050_000, state: { states[$0] }).isEmpty)
        #expect(table.tick(now: 11_100_000, state: { states[$0] }) == [.close(reading, .blocked)])
    }

    @Test func theListenerPausesWhenDescriptorsRunOutAndResumes() {
        var table = SessionTable(cap: 10, blockedTimeout: 10_000_000)
        let s = open(&table, at: 0)
        #expect(table.acceptRanOutOfDescriptors(now: 1_000) == [.listener(paused: true)])
        #expect(table.acceptRanOutOfDescriptors(now: 2_000).isEmpty, "paused once")
        #expect(table.needsFrequentTurns)
        // A session closing frees a descriptor: watched again at once.
        #expect(table.closed(s) == [.listener(paused: false)])
        #expect(!table.needsFrequentTurns)
        // Without a close, after a second.
        _ = table.acceptRanOutOfDescriptors(now: 10_000_000)
        #expect(table.tick(now: 11_000_000, state: { _ in nil }).isEmpty)
        #expect(table.tick(now: 11_000_001, state: { _ in nil }) == [.listener(paused: false)])
        #expect(table.tick(now: 12_000_001, state: { _ in nil }).isEmpty)
    }
}
