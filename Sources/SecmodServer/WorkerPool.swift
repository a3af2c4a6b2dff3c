import SecmodSystem

/// Signing threads fed through a semaphore: the event loop queues a job and posts once; an
/// idle worker wakes, takes it and reports through the mailbox.
///
/// The semaphore counts queued jobs, so a worker that finishes one and finds more queued
/// takes the next without sleeping: under load, workers run back to back.
final class WorkerPool: @unchecked Sendable {
    typealias Job = @Sendable () -> Void

    private let queue = Locked<FIFO<Job?>>(FIFO())
    private let semaphore = CountingSemaphore()
    private var threads: [OSThread] = []
    let count: Int

    init(count: Int, name: String) throws(SecmodError) {
        self.count = max(1, count)
        for i in 0..<self.count {
            let t = try OSThread.start(name: "\(name)-w\(i)") { [self] in run() }
            threads.append(t)
        }
    }

    func submit(_ job: @escaping Job) {
        queue.withLock { $0.append(job) }
        semaphore.post()
    }

    /// Stops the workers and joins them. Jobs still queued are dropped unsigned (they would
    /// only delay the stop); jobs already running finish. Returns how many were dropped.
    @discardableResult
    func shutdown() -> Int {
        let dropped = queue.withLock { q in
            let n = q.count
            q.removeAll()
            for _ in threads { q.append(nil) }
            return n
        }
        // Wakes for the dropped jobs find an empty queue or a stop marker: either ends a worker.
        for _ in threads { semaphore.post() }
        for t in threads { t.join() }
        threads.removeAll()
        return dropped
    }

    private func run() {
        while true {
            semaphore.wait()
            guard let job = queue.withLock({ $0.popFirst() }) ?? nil else { return }  // a stop marker, or dropped work
            job()
        }
    }
}
