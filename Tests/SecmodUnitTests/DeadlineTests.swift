@testable import SecmodClient
import SecmodSystem
import Testing

/// Timeouts come from users (`secmod --timeout`) and library callers: none of them may trap.
@Suite struct DeadlineTests {
    @Test(arguments: [Double.infinity, 1e300, Double(UInt64.max), Double(UInt64.max) / 1e6, 9.2e12, 1.8446744e13])
    func hugeTimeoutsMeanNeverOrFarAway(seconds: Double) {
        let deadline = Deadline.after(seconds: seconds)
        #expect(!deadline.hasPassed)
        #expect(deadline.remainingMicroseconds > 1_000_000_000)
    }

    @Test(arguments: [-Double.infinity, -1, 0, Double.nan, -0.0])
    func negativeZeroOrNaNMeansNow(seconds: Double) {
        #expect(Deadline.after(seconds: seconds).hasPassed)
    }

    @Test func anOrdinaryTimeoutIsThatFarAway() {
        let left = Deadline.after(seconds: 2).remainingMicroseconds
        #expect(left > 1_000_000 && left <= 2_000_000)
    }
}
