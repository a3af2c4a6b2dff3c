@testable import SecmodClient
import SecmodSystem
import Testing

/// Timeouts come from users (`secmod --timeout`, validated there) and library callers as a
/// `Duration`: none of them may trap, however large, small or negative.
@Suite struct DeadlineTests {
    @Test(arguments: [Duration.seconds(Int64.max), .seconds(Int64.max / 1_000_000), .seconds(Int64.max / 1_000_000 + 1),
                      .seconds(18_446_744_073_709), .seconds(9.2e12), .seconds(Int64.max) + .seconds(Int64.max)])
    func hugeTimeoutsMeanNeverOrFarAway(duration: Duration) {
        let deadline = Deadline.after(duration)
        #expect(!deadline.hasPassed)
        #expect(deadline.remainingMicroseconds > 1_000_000_000)
    }

    @Test(arguments: [Duration.seconds(Int64.min), .seconds(-1), .zero, .nanoseconds(-1)])
    func negativeOrZeroMeansNow(duration: Duration) {
        #expect(Deadline.after(duration).hasPassed)
    }

    @Test func anOrdinaryTimeoutIsThatFarAway() {
        let left = Deadline.after(.seconds(2)).remainingMicroseconds
        #expect(left > 1_000_000 && left <= 2_000_000)
        let short = Deadline.after(.milliseconds(1500)).remainingMicroseconds
        #expect(short > 500_000 && short <= 1_500_000)
    }
}
