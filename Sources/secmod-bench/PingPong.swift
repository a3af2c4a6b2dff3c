import SecmodBase
import SecmodSystem
import Synchronization

/// Round trips between two threads of this process over one `HandOff`: the floor under any
/// design that moves a request from one thread to another and back.
enum PingPong {
    /// Mean round-trip time in microseconds over about `seconds`.
    static func measure(_ handOff: any HandOff, seconds: Double, name: String) throws(SecmodError) -> Double {
        let stop = StopFlag()
        let echo = try OSThread.start(name: "\(name)-echo") {
            while true {
                handOff.wait(1)
                if stop.isSet { return }
                handOff.wake(1)
            }
        }
        // Warm up so both threads are scheduled, then measure.
        for _ in 0..<2000 { handOff.wake(0); handOff.wait(0) }
        let start = Clock.monotonicNanoseconds()
        let end = start + UInt64(seconds * 1e9)
        var rounds = 0
        var now = start
        while now < end {
            for _ in 0..<100 { handOff.wake(0); handOff.wait(0) }
            rounds += 100
            now = Clock.monotonicNanoseconds()
        }
        stop.set()
        handOff.wake(0)
        echo.join()
        return Double(now - start) / Double(rounds) / 1000
    }
}

final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    var isSet: Bool { flag.load(ordering: .acquiring) }
    func set() { flag.store(true, ordering: .releasing) }
}
