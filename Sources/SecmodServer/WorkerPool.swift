import SecmodBase
import SecmodSystem
import Synchronization

/// Signing threads fed through a semaphore: the event loop queues a job and posts once; an
/// idle worker wakes, takes it and reports through the mailbox.
///
/// Jobs are queued per session and taken round robin (`RoundRobinQueue`), so one session's
/// flood delays another session's request by at most one job per busy session. A job is
/// one signature, or a run of at most `quickRun` quick ones of one batch (under a
/// millisecond: 32 Ed25519 or Clause-Schnorr signatures). The
/// semaphore counts queued jobs, so a worker that finishes one and finds more queued takes
/// the next without sleeping: under load, workers run back to back. Jobs removed before a
/// worker reached them leave surplus posts; a worker that wakes to an empty queue waits again.
package final class WorkerPool: @unchecked Sendable {
    /// A job gets `signed`, to call once its CPU-heavy part is over: from then on the pool
    /// counts as idle for `isIdle`, while the job still sends its reply. (Sending wakes the
    /// client, which at once sends its next request; the loop should find the pool idle
    /// then and sign that one itself, not wait for the worker's send to return.)
    package typealias Job = @Sendable (_ signed: () -> Void) -> Void

    /// A queued job and its request's sequence number in its session.
    private struct Entry {
        let request: UInt64
        let job: Job
    }

    private struct State {
        var queue = RoundRobinQueue<UInt64, Entry>()
        var stopping = false
    }

    private let state = Locked(State())
    /// Workers between taking a job and finishing its signing: raised under the lock as a
    /// job leaves the queue, lowered without it when the job says it signed or returns
    /// (no second lock per job).
    private let busy = Atomic<Int>(0)
    private let semaphore = CountingSemaphore()
    private var threads: [OSThread] = []
    package let count: Int

    /// The most quick signatures (`SigningJob.isQuick`) of one request that one job makes.
    /// Waking a worker, queueing and filing a reply cost about what a Clause-Schnorr
    /// signature costs; a run of 32 shares that cost and still leaves a 256-item batch
    /// eight jobs for the workers to share. Slow signatures (RSA, a token's) go one by one:
    /// their hand-off is noise, and one per job keeps every worker busy.
    package static let quickRun = 32

    package init(count: Int) throws(SecmodError) {
        self.count = max(1, count)
        for i in 0..<self.count {
            // Linux keeps 15 bytes of a thread name: the role, not the program, which ps shows anyway.
            let t = try OSThread.start(name: "worker-\(i)") { [self] in run() }
            threads.append(t)
        }
    }

    /// Queues a job of `session`'s request `request`, behind that session's earlier jobs.
    package func submit(session: UInt64, request: UInt64, _ job: @escaping Job) {
        state.withLock { $0.queue.append(Entry(request: request, job: job), for: session) }
        semaphore.post()
    }

    /// Jobs waiting for a worker.
    package var queuedCount: Int { state.withLock { $0.queue.count } }

    /// No job queued and none running: a quick job may run on the loop without waiting
    /// behind, or delaying, anyone's.
    package var isIdle: Bool { busy.load(ordering: .acquiring) == 0 && state.withLock { $0.queue.count == 0 } }

    /// Drops a closed session's queued jobs at once: they would be skipped anyway, and
    /// meanwhile they hold its socket and memory. Returns how many.
    @discardableResult
    package func drop(session: UInt64) -> Int {
        state.withLock { $0.queue.removeAll(of: session) }
    }

    /// Drops the queued jobs of one request, answered already (REQUEST_TIMEOUT): with every
    /// worker stuck in a token call that hangs, nothing else would ever take them out.
    @discardableResult
    package func drop(session: UInt64, request: UInt64) -> Int {
        state.withLock { $0.queue.removeAll(of: session) { $0.request == request } }
    }

    /// Stops the workers and joins them. Jobs still queued are dropped unsigned (they would
    /// only delay the stop); jobs already running finish. Returns how many were dropped.
    @discardableResult
    package func shutdown() -> Int {
        let dropped = state.withLock { s in
            let n = s.queue.count
            s.queue.removeAll()
            s.stopping = true
            return n
        }
        for _ in threads { semaphore.post() }
        for t in threads { t.join() }
        threads.removeAll()
        return dropped
    }

    private func run() {
        while true {
            semaphore.wait()
            let next: Job?? = state.withLock { s in
                guard !s.stopping else { return .none }
                let job = s.queue.popNext()?.job
                if job != nil { busy.add(1, ordering: .relaxed) }
                return .some(job)
            }
            guard let taken = next else { return }  // stopping
            guard let job = taken else { continue }  // a surplus post for a job that was dropped
            var released = false
            job {
                if !released { released = true; busy.subtract(1, ordering: .releasing) }
            }
            if !released { busy.subtract(1, ordering: .releasing) }
        }
    }
}
