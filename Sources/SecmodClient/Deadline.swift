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
        let span = seconds * 1_000_000
        guard span < Double(UInt64.max - now) else { return Deadline(microseconds: .max) }
        return Deadline(microseconds: now + UInt64(span))
    }

    /// The sooner of two deadlines, where nil is never.
    static func earlier(_ a: Deadline, _ b: Deadline?) -> Deadline {
        guard let b else { return a }
        return a.microseconds <= b.microseconds ? a : b
    }

    var hasPassed: Bool { Clock.monotonicMicroseconds() >= microseconds }

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
