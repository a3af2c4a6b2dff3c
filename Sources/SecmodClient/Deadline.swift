import SecmodSystem

/// A point on the monotonic clock after which a call gives up. `nil` deadlines mean "wait
/// as long as it takes", which is what DD 10 asks of the exchange's blocking calls.
public struct Deadline: Sendable {
    let microseconds: UInt64

    /// `duration` from now. Zero or negative means now; a span too large to represent means
    /// never. A `Duration` has no infinity and no NaN, so no caller can make this trap.
    public static func after(_ duration: Duration) -> Deadline {
        let now = Clock.monotonicMicroseconds()
        guard duration > .zero else { return Deadline(microseconds: now) }
        // Compared before `components`, which traps beyond Int64.max seconds (a Duration
        // holds 128 bits); the bound, some 285,000 years, keeps the microseconds in UInt64.
        guard duration < .seconds(9_000_000_000_000) else { return Deadline(microseconds: .max) }
        let (seconds, attoseconds) = duration.components  // both non-negative here
        let span = UInt64(seconds) * 1_000_000 + UInt64(attoseconds / 1_000_000_000_000)
        let (sum, overflow) = now.addingReportingOverflow(span)
        return Deadline(microseconds: overflow ? .max : sum)
    }

    /// The sooner of two deadlines, where nil is never.
    static func earlier(_ a: Deadline, _ b: Deadline?) -> Deadline {
        guard let b else { return a }
        return a.microseconds <= b.microseconds ? a : b
    }

    public var hasPassed: Bool { Clock.monotonicMicroseconds() >= microseconds }

    /// Microseconds left, 0 once passed.
    var remainingMicroseconds: UInt64 {
        let now = Clock.monotonicMicroseconds()
        return microseconds > now ? microseconds - now : 0
    }

    /// Milliseconds left, at most `cap`.
    func remainingMilliseconds(cap: Int32) -> Int32 {
        let left = remainingMicroseconds
        return Int32(min(UInt64(max(cap, 0)), left / 1000 + (left % 1000 == 0 ? 0 : 1)))
    }
}
