import SecmodSystem

/// A point on the monotonic clock after which a call gives up. `nil` deadlines mean "wait
/// as long as it takes", which is what DD 10 asks of the exchange's blocking calls.
public struct Deadline: Sendable {
    let microseconds: UInt64

    public static func after(seconds: Double) -> Deadline {
        Deadline(microseconds: Clock.monotonicMicroseconds() &+ UInt64(max(0, seconds) * 1_000_000))
    }

    var hasPassed: Bool { Clock.monotonicMicroseconds() >= microseconds }

    /// Milliseconds left, at most `cap`.
    func remainingMilliseconds(cap: Int32) -> Int32 {
        let now = Clock.monotonicMicroseconds()
        guard microseconds > now else { return 0 }
        return Int32(min(UInt64(cap), (microseconds - now + 999) / 1000))
    }
}
