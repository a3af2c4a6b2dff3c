import SecmodBase
import SecmodSystem

/// Writes audit reservations ahead (`AuditCounter.reserveAhead`) on a thread of its own.
///
/// Written by the worker that noticed the reservation running low, the fsync kept that
/// worker off the CPU: with two workers, one core idled for an fsync every half block
/// (`cs.ratio.batch256.c8` 0.73–0.77 with the write on the worker, 0.83–0.84 with the
/// audit writes taken out altogether). Here no signer waits for the disk unless the disk
/// falls a whole half block behind, and then only as before, under the counter's lock.
///
/// The queue holds at most one entry per counter (`extending` is set until the write is
/// done), so it is bounded by the number of keys. The thread starts with the first write
/// ahead and is joined by `shutdown`.
package final class AuditWriter: @unchecked Sendable {
    private struct State {
        var pending = FIFO<AuditCounter>()
        var thread: OSThread?
        var stopping = false
    }

    private let state = Locked(State())
    private let semaphore = CountingSemaphore()

    /// Queues `counter`'s write; false if it cannot be done here (stopping, or no thread
    /// could be started): the caller then writes it itself.
    package init() {}

    func submit(_ counter: AuditCounter) -> Bool {
        let queued: Bool = state.withLock { s in
            guard !s.stopping else { return false }
            if s.thread == nil {
                guard let thread = try? OSThread.start(name: "audit-writer", { [self] in run() }) else { return false }
                s.thread = thread
            }
            s.pending.append(counter)
            return true
        }
        if queued { semaphore.post() }
        return queued
    }

    /// Writes what is queued, then stops the thread and joins it.
    package func shutdown() {
        let thread: OSThread? = state.withLock { s in
            s.stopping = true
            defer { s.thread = nil }
            return s.thread
        }
        guard let thread else { return }
        semaphore.post()
        thread.join()
    }

    private func run() {
        while true {
            semaphore.wait()
            let (next, stop): (AuditCounter?, Bool) = state.withLock { s in (s.pending.popFirst(), s.stopping) }
            if let next {
                next.reserveAhead()
            } else if stop {
                return
            }
        }
    }
}
