import SecmodSystem

/// A point on the monotonic clock after which a call gives up. `nil` deadlines mean "wait
/// as long as it takes", which is what DD 10 asks of the exchange's blocking calls.
public struct Deadline: Sendable {
    let microseconds: UInt64

    /// `seconds` from now. Negative or NaN means now; a time too large to represent (or
    /// infinity) means never.
    public static func after(seconds: Double) -> Deadline {
        let now = Clock.monotonicMicroseconds()
        guard !seconds.isNaN, seconds > 0 else { return Deadline(microseconds: now) }
        // Compared in floating point against a bound far inside UInt64 (some 292,000 years),
        // then added with an overflow check: `Double(UInt64.max - now)` rounds up to 2^64,
        // so a span just below it used to pass the check and trap in the addition.
        let span = seconds * 1_000_000
        guard span < 9.2e18 else { return Deadline(microseconds: .max) }
        let (sum, overflow) = now.addingReportingOverflow(UInt64(span))
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
