import SecmodBase
import SecmodKeys
import SecmodWire

/// A job for the key maintainer thread.
enum MaintenanceJob: Sendable, Equatable {
    /// A new key at `anchor`; never overwrites a file.
    case create(KeySlot)
    /// The successor of a revoked key, atomically replacing its file.
    case replace(KeySlot)
    /// Delete an expired key's file.
    case remove(KeySlot)

    var slot: KeySlot {
        switch self {
        case let .create(slot), let .replace(slot), let .remove(slot): slot
        }
    }
}

/// One key position: a group (a chain of keys with one schedule) and an anchor.
struct KeySlot: Hashable, Sendable {
    let group: Int
    let anchor: Timestamp
}

/// The key lifecycle of one helper as a state machine: events in, effects out; no I/O, no
/// threads, the clock a parameter. The event loop feeds it (the schedule's timer, the key
/// maintainer's results, a REVOKE) and carries out what it returns; unit tests drive it
/// with a fake clock in microseconds.
///
/// What it keeps: the anchors asked of the maintainer and not yet back (so the schedule
/// neither makes a key twice nor leaves a gap), the jobs that failed and when to run them
/// again (a full or failing disk), the PURGEs of revoked keys held until the successor is
/// on disk (so PURGE(old) and AVAIL(new) arrive together, wire.md §8.5), and whether the
/// first schedule run's keys exist (handshakes wait until then). The served keys themselves
/// are in the engine's registry; the machine is told their anchors.
struct KeyLifecycle {
    enum Effect: Equatable {
        case submit(MaintenanceJob)
        /// The key in this slot expired: stop serving it and send its PURGE to everyone.
        /// A `.submit(.remove)` for its file follows.
        case expire(KeySlot)
        /// A key the maintainer made is to be served; `announce`: send its AVAIL to every
        /// session (not before the first run is complete: the dump will carry it).
        case serve(KeySlot, announce: Bool, replacing: Bool)
        /// A revoked key's successor is on disk, or could not be made: its PURGE goes to the
        /// sessions that were told of the key and are still there.
        case sendPurge([UInt8], sessions: Set<UInt64>)
        /// The first schedule run's keys exist: answer every waiting handshake.
        case becomeReady
    }

    /// How long a failed maintenance job waits before it runs again (µs).
    static let retryDelay: UInt64 = 10_000_000

    private let schedules: [KeySchedule]
    private var pending: [Set<Timestamp>]
    private var jobsToRetry: [MaintenanceJob] = []
    private var retryAt: UInt64?
    private var heldPurges: [KeySlot: (purge: [UInt8], sessions: Set<UInt64>)] = [:]
    private var initialCreationsOutstanding = 0
    /// Successors of keys found revoked at start (`loadedRevoked`) that the first run waits
    /// for, like its new keys: until then the revoked key's time has no key, and a client
    /// that handshakes would be told KEYS_MISSING.
    private var initialReplacements: Set<KeySlot> = []
    /// The first run has asked for its keys: only then can their count reach zero for good.
    private var firstRunAsked = false
    private(set) var isReady = false
    /// Key files waiting to be created, replaced or deleted (`METRICS_FILE`).
    var pendingCount: Int { pending.reduce(0) { $0 + $1.count } + jobsToRetry.count }
    /// The next due time; it changes only with an event, and the loop asks every turn.
    private var cachedNextAction: UInt64?

    init(schedules: [KeySchedule]) {
        self.schedules = schedules
        pending = Array(repeating: [], count: schedules.count)
    }

    /// A key file whose audit record says it was revoked (before a crash, and its successor
    /// never reached the disk): its successor is made at the first run, and handshakes wait
    /// for it.
    mutating func loadedRevoked(_ slot: KeySlot) {
        cachedNextAction = nil
        if !isReady, initialReplacements.insert(slot).inserted { initialCreationsOutstanding += 1 }
        pending[slot.group].insert(slot.anchor)
        jobsToRetry.append(.replace(slot))
        retryAt = 0
    }

    /// The first run, once the key files are loaded; ready at once if it asks for no key.
    mutating func start(now: UInt64, served: (Int) -> [Timestamp]) -> [Effect] {
        var effects = tick(now: now, served: served)
        firstRunAsked = true
        if initialCreationsOutstanding <= 0 { effects += becomeReady() }
        return effects
    }

    /// The wall-clock µs at which `tick` is due.
    mutating func nextAction(served: (Int) -> [Timestamp]) -> UInt64 {
        if let cached = cachedNextAction { return cached }
        var next = retryAt ?? .max
        for (group, schedule) in schedules.enumerated() {
            let anchors = served(group)
            next = min(next, schedule.nextAction(anchors: anchors, tail: (anchors + pending[group]).max()))
        }
        cachedNextAction = next
        return next
    }

    /// The schedule: runs failed jobs that are due (dropping those whose key has expired
    /// meanwhile), expires keys, and asks for the keys the lookahead needs.
    mutating func tick(now: UInt64, served: (Int) -> [Timestamp]) -> [Effect] {
        cachedNextAction = nil
        var effects: [Effect] = []
        if let at = retryAt, at <= now {
            retryAt = nil
            let due = jobsToRetry
            jobsToRetry.removeAll()
            for job in due {
                switch job {
                case let .create(slot), let .replace(slot):
                    if schedules[slot.group].isExpired(anchor: slot.anchor, now: now) {
                        pending[slot.group].remove(slot.anchor)
                        // A revoked key's file that was never replaced goes with its time.
                        if case .replace = job {
                            effects.append(.submit(.remove(slot)))
                            effects += initialReplacementFinished(slot)
                        }
                        continue
                    }
                    effects.append(.submit(job))  // its anchor is still pending
                case .remove:
                    effects.append(.submit(job))
                }
            }
        }
        for (group, schedule) in schedules.enumerated() {
            var remaining: [Timestamp] = []
            for anchor in served(group) {
                if schedule.isExpired(anchor: anchor, now: now) {
                    let slot = KeySlot(group: group, anchor: anchor)
                    effects += [.expire(slot), .submit(.remove(slot))]
                } else {
                    remaining.append(anchor)
                }
            }
            for anchor in schedule.anchorsToCreate(after: (remaining + pending[group]).max(), now: now) {
                pending[group].insert(anchor)
                effects.append(.submit(.create(KeySlot(group: group, anchor: anchor))))
                if !isReady { initialCreationsOutstanding += 1 }
            }
        }
        return effects
    }

    /// The maintainer made a key (a new one, or a revoked key's successor) and stored it.
    mutating func created(_ slot: KeySlot, replacing: Bool, now: UInt64) -> [Effect] {
        cachedNextAction = nil
        pending[slot.group].remove(slot.anchor)
        var effects: [Effect] = []
        if replacing { effects += releaseHeldPurge(slot) }
        if schedules[slot.group].isExpired(anchor: slot.anchor, now: now) {
            effects.append(.submit(.remove(slot)))
        } else {
            effects.append(.serve(slot, announce: isReady, replacing: replacing))
        }
        effects += replacing ? initialReplacementFinished(slot) : initialCreationFinished()
        return effects
    }

    /// A maintenance job failed: it runs again after `retryDelay`, its anchor still pending.
    mutating func failed(_ job: MaintenanceJob, now: UInt64) -> [Effect] {
        cachedNextAction = nil
        var effects: [Effect] = []
        switch job {
        case .create: effects += initialCreationFinished()
        case let .replace(slot):
            effects += releaseHeldPurge(slot)  // the revocation stands without a successor
            effects += initialReplacementFinished(slot)
        case .remove: break
        }
        jobsToRetry.append(job)
        retryAt = min(retryAt ?? .max, now + Self.retryDelay)
        return effects
    }

    /// REVOKE of the key in `slot`, already out of the registry: its successor is made with
    /// the same anchor, and its PURGE waits for it. `told`: the sessions that have the key.
    mutating func revoked(_ slot: KeySlot, purge: [UInt8], told: Set<UInt64>) -> [Effect] {
        cachedNextAction = nil
        heldPurges[slot] = (purge, told)
        pending[slot.group].insert(slot.anchor)
        return [.submit(.replace(slot))]
    }

    private mutating func releaseHeldPurge(_ slot: KeySlot) -> [Effect] {
        guard let held = heldPurges.removeValue(forKey: slot) else { return [] }
        return [.sendPurge(held.purge, sessions: held.sessions)]
    }

    /// A creation of the first run ended (made or failed: a failing disk must not keep every
    /// client waiting; those keys come with the retry).
    private mutating func initialCreationFinished() -> [Effect] {
        guard !isReady else { return [] }
        initialCreationsOutstanding -= 1
        return firstRunAsked && initialCreationsOutstanding <= 0 ? becomeReady() : []
    }

    /// A successor the first run waits for was made, failed or is no longer owed.
    private mutating func initialReplacementFinished(_ slot: KeySlot) -> [Effect] {
        guard initialReplacements.remove(slot) != nil else { return [] }
        return initialCreationFinished()
    }

    private mutating func becomeReady() -> [Effect] {
        isReady = true
        return [.becomeReady]
    }
}
