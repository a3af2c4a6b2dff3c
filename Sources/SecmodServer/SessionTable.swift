import SecmodSystem

/// The loop's bookkeeping of sessions as a state machine: which sessions exist and when
/// each was last active, what epoll watches each one for, which wait on the kernel (their
/// outbox is not empty) or on the helper-wide budget, the session cap and whom it evicts,
/// the listener's pause when descriptors run out, and SESSION_BLOCKED_TIMEOUT.
///
/// Events in, effects out, the monotonic clock (µs) a parameter; no I/O. The loop owns the
/// sockets and channels, tells the table what happened and carries out what it returns;
/// unit tests drive it with a fake clock.
struct SessionTable {
    enum Effect: Equatable {
        /// Close the session. The loop then reports `closed`.
        case close(UInt64, CloseReason)
        /// Make epoll watch the session for these events (none: neither read nor write).
        case watch(UInt64, PollEvents)
        /// Stop or resume watching the listener.
        case listener(paused: Bool)
    }

    enum CloseReason: Equatable, CustomStringConvertible {
        /// A new session arrived at the cap; this one was idle longest.
        case capReached(Int)
        /// Its outbox took nothing for longer than SESSION_BLOCKED_TIMEOUT.
        case blocked

        var description: String {
            switch self {
            case let .capReached(cap): "session cap (\(cap)) reached; closing the longest idle session"
            case .blocked: "blocked for more than SESSION_BLOCKED_TIMEOUT: the client does not read"
            }
        }
    }

    /// What the table needs to know of a session's `ReplyChannel`.
    struct ChannelState: Equatable {
        var wantsWrite = false
        var atInflightBound = false
        var heldByBudget = false
        var blockedSince: UInt64?
    }

    /// How often the blocked check runs (µs): every turn would cost a lock per blocked session.
    static let blockedCheckInterval: UInt64 = 100_000
    /// How long the listener stays paused after EMFILE/ENFILE without a session closing (µs).
    static let listenerPause: UInt64 = 1_000_000

    private struct Entry {
        var lastActivity: UInt64
        var interest: PollEvents
    }

    private var entries: [UInt64: Entry] = [:]
    /// Sessions whose outbox is not empty: the only ones the blocked check looks at, and
    /// while there are any the loop wakes at least once a second.
    private(set) var writeWaiting: Set<UInt64> = []
    /// Sessions the helper-wide budget holds (not read while they have work in flight):
    /// looked at again when the hold ends.
    private(set) var budgetPaused: Set<UInt64> = []
    /// MAX_SESSIONS, lowered at start if descriptors would run out first.
    var cap: Int
    let blockedTimeout: UInt64
    private var nextID: UInt64 = 1
    /// `accept` failed with EMFILE/ENFILE at this time: the listener stays readable, so
    /// watching it would spin. It is not watched until a session closes and frees a
    /// descriptor, or for `listenerPause`.
    private(set) var listenerPausedSince: UInt64?
    private var lastBlockedCheck: UInt64 = 0

    init(cap: Int, blockedTimeout: UInt64) {
        self.cap = cap
        self.blockedTimeout = blockedTimeout
    }

    var count: Int { entries.count }

    /// The loop must wake at least once a second: a session waits on the kernel, or the
    /// listener is paused.
    var needsFrequentTurns: Bool { !writeWaiting.isEmpty || listenerPausedSince != nil }

    /// A new session is about to open: its id, and at the cap, the close of the session idle
    /// longest, to carry out first.
    mutating func reserve(now: UInt64) -> (id: UInt64, effects: [Effect]) {
        let id = nextID
        nextID += 1
        // Ties go to the older session, so that the choice does not depend on hashing.
        guard entries.count >= cap,
              let idlest = entries.min(by: { ($0.value.lastActivity, $0.key) < ($1.value.lastActivity, $1.key) }) else {
            return (id, [])
        }
        return (id, [.close(idlest.key, .capReached(cap))])
    }

    /// The session is open and epoll watches it for reading.
    mutating func opened(_ id: UInt64, now: UInt64) {
        entries[id] = Entry(lastActivity: now, interest: .readable)
    }

    /// A message came from the session's client.
    mutating func activity(_ id: UInt64, now: UInt64) {
        entries[id]?.lastActivity = now
    }

    /// The session is gone: a descriptor is free again, so a paused listener is watched again.
    mutating func closed(_ id: UInt64) -> [Effect] {
        entries[id] = nil
        writeWaiting.remove(id)
        budgetPaused.remove(id)
        return resumeListener()
    }

    /// The session's channel changed (a request, a reply, a push, a flush): what epoll
    /// watches follows it. Readable unless the session is at its in-flight bound
    /// (backpressure), writable while its outbox holds messages.
    mutating func channelChanged(_ id: UInt64, _ state: ChannelState) -> [Effect] {
        guard var entry = entries[id] else { return [] }
        var wanted: PollEvents = state.atInflightBound ? [] : .readable
        if state.heldByBudget { budgetPaused.insert(id) } else { budgetPaused.remove(id) }
        if state.wantsWrite {
            wanted.insert(.writable)
            writeWaiting.insert(id)
        } else {
            writeWaiting.remove(id)
        }
        guard wanted != entry.interest else { return [] }
        entry.interest = wanted
        entries[id] = entry
        return [.watch(id, wanted)]
    }

    /// `accept` failed for want of descriptors.
    mutating func acceptRanOutOfDescriptors(now: UInt64) -> [Effect] {
        guard listenerPausedSince == nil else { return [] }
        listenerPausedSince = now
        return [.listener(paused: true)]
    }

    /// Every turn: sessions blocked longer than SESSION_BLOCKED_TIMEOUT are closed (a
    /// vanished client needs no probe: its session polls POLLHUP at once), and a listener
    /// paused for `listenerPause` is watched again. `state` reads a session's channel.
    mutating func tick(now: UInt64, state: (UInt64) -> ChannelState?) -> [Effect] {
        var effects: [Effect] = []
        if let since = listenerPausedSince, now &- since > Self.listenerPause { effects += resumeListener() }
        guard now &- lastBlockedCheck >= Self.blockedCheckInterval else { return effects }
        lastBlockedCheck = now
        for id in writeWaiting.sorted() {
            // A worker may have set blockedSince after `now` was read: compare before subtracting.
            if let since = state(id)?.blockedSince, now > since, now - since > blockedTimeout {
                effects.append(.close(id, .blocked))
            }
        }
        return effects
    }

    private mutating func resumeListener() -> [Effect] {
        guard listenerPausedSince != nil else { return [] }
        listenerPausedSince = nil
        return [.listener(paused: false)]
    }
}
