import Synchronization

/// MAX_INFLIGHT_BYTES: the bytes of requests the whole helper holds unsigned, across
/// sessions. Each session has its own bound (SESSION_MAX_INFLIGHT_BYTES), but an attacker
/// who owns the exchange process can open MAX_SESSIONS sessions; this bound keeps the sum
/// in proportion to the machine instead of to MAX_SESSIONS.
///
/// While the budget is exhausted, the loop stops reading every session that already has
/// work in flight; a session with none is still read, so a client that waits for each
/// reply is never held back by a flood of others (its one message may go past the bound).
/// Readers resume once the budget falls below three quarters of the bound, so that a busy
/// helper does not re-arm every paused session at each signature.
final class InflightBudget: Sendable {
    let limit: Int
    private let used = Atomic<Int>(0)

    init(limit: Int) { self.limit = limit }

    var isExhausted: Bool { used.load(ordering: .relaxed) >= limit }

    var bytes: Int { used.load(ordering: .relaxed) }

    func charge(_ n: Int) {
        guard n > 0 else { return }
        used.add(n, ordering: .relaxed)
    }

    /// Returns true when this release took the budget below the resume mark: the loop must
    /// then re-arm the sessions it paused for the budget.
    func release(_ n: Int) -> Bool {
        guard n > 0 else { return false }
        let before = used.subtract(n, ordering: .relaxed).oldValue
        let mark = limit - limit / 4
        return before >= mark && before - n < mark
    }
}
