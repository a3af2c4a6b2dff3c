import SecmodBase
@testable import SecmodServer
import SecmodKeys
import SecmodWire
import Testing

/// The key lifecycle without an engine, threads or disk: events in, effects out, the clock a
/// number. A fake registry applies `.serve` and `.expire` as the engine would.
@Suite struct KeyLifecycleTests {
    /// A key every 50 s, each valid 60 s, 120 s ahead: keys at +0, +50 and +100 s; the
    /// next is due at +30 s, the first expiry at +60 s.
    static let schedule = KeySchedule(duration: RelativeTime(seconds: 60), overlap: RelativeTime(seconds: 10),
                                      lookahead: RelativeTime(seconds: 120))
    static let t0: UInt64 = 1_000_000 * 1_000_000
    static let retry = KeyLifecycle.retryDelay

    struct Harness {
        var machine = KeyLifecycle(schedules: [KeyLifecycleTests.schedule])
        var served: [[Timestamp]] = [[]]

        /// Applies what the engine would (the registry), and returns the effects.
        mutating func apply(_ effects: [KeyLifecycle.Effect]) -> [KeyLifecycle.Effect] {
            for effect in effects {
                switch effect {
                case let .serve(slot, _, _): served[slot.group].append(slot.anchor)
                case let .expire(slot): served[slot.group].removeAll { $0 == slot.anchor }
                default: break
                }
            }
            return effects
        }

        mutating func start(_ now: UInt64) -> [KeyLifecycle.Effect] {
            let s = served
            return apply(machine.start(now: now, served: { s[$0] }))
        }

        mutating func tick(_ now: UInt64) -> [KeyLifecycle.Effect] {
            let s = served
            return apply(machine.tick(now: now, served: { s[$0] }))
        }

        mutating func nextAction() -> UInt64 {
            let s = served
            return machine.nextAction(served: { s[$0] })
        }

        mutating func created(_ slot: KeySlot, replacing: Bool = false, _ now: UInt64) -> [KeyLifecycle.Effect] {
            apply(machine.created(slot, replacing: replacing, now: now))
        }

        mutating func failed(_ job: MaintenanceJob, _ now: UInt64) -> [KeyLifecycle.Effect] {
            apply(machine.failed(job, now: now))
        }

        /// Starts at `t0` and makes every key the first run asks for; returns their slots.
        mutating func startReady() -> [KeySlot] {
            let slots = KeyLifecycleTests.creations(start(KeyLifecycleTests.t0))
            for slot in slots { _ = created(slot, KeyLifecycleTests.t0) }
            return slots
        }
    }

    static func creations(_ effects: [KeyLifecycle.Effect]) -> [KeySlot] {
        effects.compactMap { if case let .submit(.create(slot)) = $0 { slot } else { nil } }
    }

    private func creations(_ effects: [KeyLifecycle.Effect]) -> [KeySlot] { Self.creations(effects) }

    private func slot(_ secondsAfterT0: UInt64) -> KeySlot {
        KeySlot(group: 0, anchor: Timestamp(seconds: Self.t0 / 1_000_000 + secondsAfterT0))
    }

    @Test func theFirstRunAsksForTheLookaheadAndIsReadyWhenEveryKeyExists() {
        var h = Harness()
        let first = h.start(Self.t0)
        let slots = creations(first)
        #expect(slots == [0, 50, 100].map(slot), "keys every 50 s until the lookahead is covered")
        #expect(first.count == slots.count, "nothing but creations, and not ready yet")
        #expect(!h.machine.isReady)
        for s in slots.dropLast() {
            #expect(h.created(s, Self.t0) == [.serve(s, announce: false, replacing: false)], "before ready, the dump will carry it")
        }
        #expect(h.created(slots.last!, Self.t0) == [.serve(slots.last!, announce: false, replacing: false), .becomeReady])
        #expect(h.machine.isReady)
        // Nothing is due until the schedule says so, and asking again changes nothing.
        #expect(h.tick(Self.t0).isEmpty)
    }

    @Test func aStartWithEveryKeyOnDiskIsReadyAtOnce() {
        var h = Harness()
        h.served = [[0, 50, 100].map { slot($0).anchor }]
        #expect(h.start(Self.t0) == [.becomeReady])
    }

    @Test func aFailedCreationIsRetriedAfterTheDelayWithoutADuplicateOrAGap() {
        var h = Harness()
        let slots = creations(h.start(Self.t0))
        let broken = slots[1]
        for s in slots where s != broken { _ = h.created(s, Self.t0) }
        // A failing disk must not keep every client waiting: the failure ends the first run.
        #expect(h.failed(.create(broken), Self.t0 + 5) == [.becomeReady])
        #expect(h.nextAction() == Self.t0 + 5 + Self.retry)
        // Before the delay: no second job for the anchor, and none for a later anchor either
        // (the pending anchor still counts as the chain's, so the schedule leaves no gap).
        #expect(h.tick(Self.t0 + 5 + Self.retry - 1).isEmpty)
        let again = h.tick(Self.t0 + 5 + Self.retry)
        #expect(again == [.submit(.create(broken))])
        #expect(h.tick(Self.t0 + 5 + Self.retry).isEmpty, "submitted once")
        #expect(h.created(broken, Self.t0 + 5 + Self.retry) == [.serve(broken, announce: true, replacing: false)])
    }

    @Test func aJobWhoseKeyExpiredWhileItKeptFailingIsDropped() {
        var h = Harness()
        let slots = creations(h.start(Self.t0))
        _ = h.failed(.create(slots[0]), Self.t0)
        for s in slots.dropFirst() { _ = h.created(s, Self.t0) }
        #expect(h.tick(Self.t0 + Self.retry) == [.submit(.create(slots[0]))])
        _ = h.failed(.create(slots[0]), Self.t0 + Self.retry)  // retried once, failed again
        // The anchor's time is over: the job goes, nothing is made or deleted for it.
        let later = Self.t0 + 61_000_000  // key 0 expired at +60 s
        let effects = h.tick(later)
        #expect(!effects.contains(.submit(.create(slots[0]))))
        #expect(!effects.contains(.submit(.remove(slots[0]))))
    }

    @Test func aRevokedKeysPurgeWaitsForItsSuccessor() {
        var h = Harness()
        let slots = h.startReady()
        let victim = slots[0]
        h.served[0].removeAll { $0 == victim.anchor }  // the engine takes it out of the registry
        #expect(h.machine.revoked(victim, purge: [0x77], told: [1, 2]) == [.submit(.replace(victim))])
        #expect(h.tick(Self.t0 + 1).isEmpty, "the anchor is pending: no second key for it")
        // On disk: the PURGE goes first, to those told of the key, then the successor's AVAIL.
        #expect(h.created(victim, replacing: true, Self.t0 + 1)
                == [.sendPurge([0x77], sessions: [1, 2]), .serve(victim, announce: true, replacing: true)])
    }

    @Test func aFailedReplacementReleasesThePurgeAndIsRetried() {
        var h = Harness()
        let victim = h.startReady()[1]
        h.served[0].removeAll { $0 == victim.anchor }
        _ = h.machine.revoked(victim, purge: [0x77], told: [3])
        // The revocation stands without a successor: the PURGE cannot wait for the disk.
        #expect(h.failed(.replace(victim), Self.t0 + 1) == [.sendPurge([0x77], sessions: [3])])
        #expect(h.tick(Self.t0 + 1 + Self.retry) == [.submit(.replace(victim))])
        #expect(h.created(victim, replacing: true, Self.t0 + 1 + Self.retry) == [.serve(victim, announce: true, replacing: true)])
    }

    @Test func aRevokedKeysFileThatOutlivesItsTimeIsDeleted() {
        var h = Harness()
        let victim = h.startReady()[0]
        h.served[0].removeAll { $0 == victim.anchor }
        _ = h.machine.revoked(victim, purge: [1], told: [])
        _ = h.failed(.replace(victim), Self.t0 + 1)
        let effects = h.tick(Self.t0 + 61_000_000)  // key 0 expired at +60 s
        #expect(effects.contains(.submit(.remove(victim))))
        #expect(!effects.contains(.submit(.replace(victim))))
    }

    @Test func expiryStopsServingThenDeletesAndTheScheduleMovesOn() {
        var h = Harness()
        let slots = h.startReady()
        // First the lookahead moves on: the newest key no longer covers it at +30 s.
        let creation = h.nextAction()
        #expect(creation == Self.t0 + 30_000_001)
        #expect(h.tick(creation - 1).isEmpty)
        let next = h.tick(creation)
        #expect(next == [.submit(.create(slot(150)))])
        #expect(h.nextAction() == Self.t0 + 60_000_001, "a pending key counts as the chain's tail")
        _ = h.created(slot(150), creation)
        // Then the oldest key's time is over.
        let expiry = h.nextAction()
        #expect(expiry == Self.t0 + 60_000_001)
        #expect(h.tick(expiry - 1).isEmpty)
        let effects = h.tick(expiry)
        #expect(effects == [.expire(slots[0]), .submit(.remove(slots[0]))])
        #expect(!h.served[0].contains(slots[0].anchor))
        #expect(h.nextAction() > expiry)
    }

    @Test func aKeyMadeAfterItsTimeIsDeletedNotServed() {
        var h = Harness()
        let slots = creations(h.start(Self.t0))
        let late = Self.t0 + 61_000_000
        let effects = h.created(slots[0], late)
        #expect(effects.first == .submit(.remove(slots[0])))
        #expect(!effects.contains { if case .serve = $0 { true } else { false } })
    }

    @Test func aKeyRevokedBeforeACrashIsReplacedAtTheFirstRun() {
        var h = Harness()
        let revoked = slot(50)
        h.served = [[0, 100].map { slot($0).anchor }]
        h.machine.loadedRevoked(revoked)
        let effects = h.start(Self.t0)
        #expect(effects.contains(.submit(.replace(revoked))))
        #expect(creations(effects).isEmpty, "its anchor is pending: no new key takes it")
        #expect(!effects.contains(.becomeReady), "handshakes wait for the successor: the key's time has no key yet")
        #expect(h.created(revoked, replacing: true, Self.t0) == [.serve(revoked, announce: false, replacing: true), .becomeReady])
    }

    @Test func aFailedSuccessorAtTheFirstRunDoesNotHoldUpHandshakes() {
        var h = Harness()
        let revoked = slot(50)
        h.served = [[0, 100].map { slot($0).anchor }]
        h.machine.loadedRevoked(revoked)
        #expect(!h.start(Self.t0).contains(.becomeReady))
        #expect(h.failed(.replace(revoked), Self.t0) == [.becomeReady], "a failing disk must not keep every client waiting")
        // The retry makes it later, once, and readiness is not announced twice.
        let retried = h.tick(Self.t0 + Self.retry)
        #expect(retried.contains(.submit(.replace(revoked))))
        #expect(h.created(revoked, replacing: true, Self.t0 + Self.retry) == [.serve(revoked, announce: true, replacing: true)])
    }

    @Test func aSuccessorNoLongerOwedAtTheFirstRunReleasesHandshakes() {
        var h = Harness()
        let revoked = slot(0)
        h.served = [[50, 100].map { slot($0).anchor }]
        h.machine.loadedRevoked(revoked)
        // Started after the revoked key's time is over: its file goes, nothing is made.
        let effects = h.start(Self.t0 + 61_000_000)
        #expect(effects.contains(.submit(.remove(revoked))))
        #expect(!effects.contains(.submit(.replace(revoked))))
        // Ready once the first run's new keys exist, not waiting for the successor.
        let made = creations(effects).flatMap { h.created($0, Self.t0 + 61_000_000) }
        #expect(made.filter { $0 == .becomeReady }.count == 1)
    }
}
