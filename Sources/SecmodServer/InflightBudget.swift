import Synchronization

/// MAX_INFLIGHT_BYTES: the bytes of requests the whole helper holds unsigned, across
/// sessions. Each session has its own bound (SESSION_MAX_INFLIGHT_BYTES), but an attacker
/// who owns the exchange process can open MAX_SESSIONS sessions; this bound keeps the sum
/// in proportion to the machine instead of to MAX_SESSIONS.
///
/// Once the bytes reach the bound, the budget *holds*: the loop stops reading every session
/// that already has work in flight; a session with none is still read, so a client that
/// waits for each reply is never held back by a flood of others (its one message may go
/// past the bound). The hold ends only when the bytes fall below three quarters of the
/// bound, so that a busy helper does not re-arm every paused session at each signature.
final class InflightBudget: Sendable {
    let limit: Int
    private let used = Atomic<Int>(0)
    private let holding = Atomic<Bool>(false)

    init(limit: Int) { self.limit = limit }

    /// Whether sessions with work in flight must not be read.
    var isHolding: Bool { holding.load(ordering: .acquiring) }

    var bytes: Int { used.load(ordering: .relaxed) }

    /// Only the loop charges, as it reads a request.
    func charge(_ n: Int) {
        guard n > 0 else { return }
        if used.add(n, ordering: .relaxed).newValue >= limit { holding.store(true, ordering: .releasing) }
    }

    /// Returns true when this release ended the hold: the loop must then re-arm the sessions
    /// it paused. Any release below the resume mark ends a hold, not only the one that
    /// crosses it, so a hold set just after a concurrent release cannot outlive the work
    /// still in flight (every held session has some, and its completion comes here).
    func release(_ n: Int) -> Bool {
        guard n > 0 else { return false }
        let after = used.subtract(n, ordering: .relaxed).newValue
        guard after < limit - limit / 4 else { return false }
        return holding.exchange(false, ordering: .acquiringAndReleasing)
    }
}
