import SecmodSystem

/// Samples a process's resident set (VmRSS) every 20 ms on a thread of its own and keeps
/// the largest value: the helper's peak memory over one measurement window. (VmHWM would be
/// the peak since the helper started, across windows; resetting it needs write access to
/// /proc/<pid>/clear_refs, which a non-dumpable helper does not give.)
final class PeakResidentSampler: Sendable {
    private let state = Locked((peak: 0, stop: false))
    private let thread: Locked<OSThread?> = Locked(nil)

    init(pid: Int32) {
        let started = try? OSThread.start(name: "rss") { [self] in
            while true {
                let kib = ProcFS.read("/proc/\(pid)/status").map { ProcFS.kibibytes("VmRSS", in: $0) } ?? 0
                let done = state.withLock { s in
                    s.peak = max(s.peak, kib)
                    return s.stop
                }
                if done { return }
                Clock.sleep(microseconds: 20_000)
            }
        }
        thread.withLock { $0 = started }
    }

    /// Stops sampling; returns the peak in KiB.
    func stop() -> Int {
        state.withLock { $0.stop = true }
        thread.withLock { $0 }?.join()
        return state.withLock { $0.peak }
    }
}
