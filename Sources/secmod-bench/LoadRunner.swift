import SecmodBase
import SecmodSystem

/// One thread's repeated operation, built on that thread (a client holds a socket and is
/// not Sendable) and called until the window closes.
typealias Operation = () throws(SecmodError) -> Void

/// Called by the coordinating thread exactly when the measurement window opens and closes,
/// to sample CPU times and context switches over the same interval as the operations.
protocol WindowObserver: AnyObject {
    func windowOpened()
    func windowClosed()
}

/// What N threads did inside the window.
struct LoadResult: Sendable {
    let threads: Int
    let operations: Int
    let seconds: Double
    let latency: LatencySummary

    var rate: Double { seconds > 0 ? Double(operations) / seconds : 0 }
}

/// Runs `threads` OS threads, each repeating its operation back to back, and counts the
/// operations that complete inside a common window.
///
/// Every thread first builds its operation (connects), then all are released together and
/// run through a warm-up; only then does the window open. The window is the same wall-clock
/// interval for all threads, so the rate is total completions over its length with no
/// start-up or tail skew, and each completed operation's latency is recorded.
enum LoadRunner {
    static func run(threads: Int, warmupSeconds: Double, seconds: Double, recordLatency: Bool,
                    name: String, observer: WindowObserver? = nil,
                    makeOperation: @escaping @Sendable (Int) throws(SecmodError) -> Operation) throws(SecmodError) -> LoadResult {
        let gate = StartGate()
        let results = Locked<[ThreadResult]>([])
        var started: [OSThread] = []
        for index in 0..<threads {
            let thread: OSThread
            do throws(SecmodError) {
                thread = try OSThread.start(name: "\(name)-\(index)") {
                    let result = runThread(index: index, gate: gate, record: recordLatency, makeOperation: makeOperation)
                    results.withLock { $0.append(result) }
                }
            } catch {
                gate.abort()
                for _ in started { gate.release(); gate.finish() }
                for t in started { t.join() }
                throw error
            }
            started.append(thread)
        }
        for _ in 0..<threads { gate.ready.wait() }
        let start = Clock.monotonicNanoseconds() + UInt64(warmupSeconds * 1e9)
        let end = start + UInt64(seconds * 1e9)
        gate.open(start: start, end: end)
        for _ in 0..<threads { gate.release() }

        sleep(untilNanoseconds: start)
        observer?.windowOpened()
        sleep(untilNanoseconds: end)
        observer?.windowClosed()
        for _ in 0..<threads { gate.finish() }
        for t in started { t.join() }

        let all = results.withLock { $0 }
        if let failure = all.compactMap(\.failure).first { throw failure }
        var latencies: [UInt64] = []
        latencies.reserveCapacity(all.reduce(0) { $0 + $1.latencies.count })
        for r in all { latencies.append(contentsOf: r.latencies) }
        return LoadResult(threads: threads, operations: all.reduce(0) { $0 + $1.operations },
                          seconds: Double(end - start) / 1e9, latency: LatencySummary(latencies))
    }

    private struct ThreadResult: Sendable {
        var operations = 0
        var latencies: [UInt64] = []
        var failure: SecmodError?
    }

    private static func runThread(index: Int, gate: StartGate, record: Bool,
                                  makeOperation: @Sendable (Int) throws(SecmodError) -> Operation) -> ThreadResult {
        var result = ThreadResult()
        var operation: Operation?
        do throws(SecmodError) { operation = try makeOperation(index) } catch { result.failure = error }
        gate.ready.post()
        gate.go.wait()
        guard let operation, let (start, end) = gate.window else {
            gate.done.wait()
            return result
        }
        if record { result.latencies.reserveCapacity(1 << 16) }
        var before = Clock.monotonicNanoseconds()
        while before < end {
            do throws(SecmodError) { try operation() } catch {
                result.failure = error
                break
            }
            let after = Clock.monotonicNanoseconds()
            if after >= start && after < end {
                result.operations += 1
                if record { result.latencies.append(after - before) }
            }
            before = after
        }
        // Stay alive until the observer has read this thread's counters in /proc.
        gate.done.wait()
        return result
    }

    static func sleep(untilNanoseconds target: UInt64) {
        let now = Clock.monotonicNanoseconds()
        if target > now { Clock.sleep(microseconds: (target - now) / 1000) }
    }
}

/// Holds the threads until every one is set up, then hands them the window.
private final class StartGate: Sendable {
    let ready = CountingSemaphore()
    let go = CountingSemaphore()
    let done = CountingSemaphore()
    private let bounds = Locked<(start: UInt64, end: UInt64)?>(nil)

    var window: (start: UInt64, end: UInt64)? { bounds.withLock { $0 } }
    func open(start: UInt64, end: UInt64) { bounds.withLock { $0 = (start, end) } }
    func abort() { bounds.withLock { $0 = nil } }
    func release() { go.post() }
    func finish() { done.post() }
}
