import SecmodBase
import SecmodClient
import SecmodSystem

/// Keeps the helper's maintenance thread generating keys: a thread of its own revokes every
/// key of one denomination as soon as it is announced, and the helper replaces each revoked
/// key with a fresh one at the same anchor, generated on its low-priority maintenance thread.
///
/// With large keys (4096 bits, about a second of CPU each on an idle machine), generation is
/// under way for the whole window; signing latency measured meanwhile shows what it costs.
final class RsaKeyChurn {
    private struct State: Sendable {
        var stopping = false
        var revocations = 0
        var replacements = 0
        var failure: SecmodError?
    }

    let section: String
    private let state = Locked(State())
    private var thread: OSThread?

    /// Connects, then revokes the section's key at once and each replacement as it arrives.
    init(endpoint: HelperEndpoint, section: String) throws(SecmodError) {
        self.section = section
        let state = self.state
        let ready = CountingSemaphore()
        thread = try OSThread.start(name: "churn") {
            Self.run(endpoint: endpoint, section: section, state: state, ready: ready)
        }
        ready.wait()
        if let failure = state.withLock({ $0.failure }) {
            thread?.join()
            throw failure
        }
    }

    /// Keys revoked and replacement keys announced so far.
    var counts: (revocations: Int, replacements: Int) {
        state.withLock { ($0.revocations, $0.replacements) }
    }

    /// Stops revoking and waits (up to 60 s) for the replacement in progress, so that no
    /// generation runs on into the next measurement. Returns the thread's failure, if any.
    @discardableResult
    func stop() -> SecmodError? {
        state.withLock { $0.stopping = true }
        thread?.join()
        thread = nil
        return state.withLock { $0.failure }
    }

    private static func run(endpoint: HelperEndpoint, section: String, state: Locked<State>, ready: CountingSemaphore) {
        let client = RsaHelperClient(socketPath: endpoint.path, transport: endpoint.transport)
        client.onKeyEvent = { event in
            if case let .available(key) = event, key.section == section { state.withLock { $0.replacements += 1 } }
        }
        var revoked: Set<[UInt8]> = []
        var stopDeadline: UInt64?
        do throws(SecmodError) {
            try client.connect(timeout: .seconds(20))
            ready.post()
            while true {
                // Revoked keys stay in `keys` until their PURGE arrives: skip them.
                let live = client.keys.filter { $0.section == section && !revoked.contains($0.hash) }
                if state.withLock({ $0.stopping }) {
                    // A live key means the maintenance thread has finished its last replacement.
                    if !live.isEmpty { break }
                    let now = Clock.monotonicMicroseconds()
                    if stopDeadline == nil { stopDeadline = now + 60_000_000 }
                    if now > stopDeadline! { throw SecmodError(.timeout, "no replacement for the revoked [\(section)] key within 60 s") }
                } else {
                    for key in live {
                        try client.revoke(hash: key.hash)
                        revoked.insert(key.hash)
                        state.withLock { $0.revocations += 1 }
                    }
                }
                try client.waitForEvents(for: .seconds(0.02))
            }
        } catch {
            state.withLock { $0.failure = error }
            ready.post()
        }
        client.disconnect()
    }
}

/// The helper's key generation during one window: the CPU of its maintenance thread (the
/// only one that lowers its priority, so the one with a positive nice value) and the keys it
/// finished. Wraps the window's `CostSampler`.
final class KeygenObserver: WindowObserver {
    let sampler: CostSampler
    private let helperPID: Int32
    private let churn: RsaKeyChurn
    private var first: (cpu: Double, replacements: Int, at: UInt64)?
    private var last: (cpu: Double, replacements: Int, at: UInt64)?

    init(sampler: CostSampler, helperPID: Int32, churn: RsaKeyChurn) {
        self.sampler = sampler
        self.helperPID = helperPID
        self.churn = churn
    }

    func windowOpened() {
        sampler.windowOpened()
        first = (Self.lowPriorityCPUSeconds(helperPID), churn.counts.replacements, Clock.monotonicMicroseconds())
    }

    func windowClosed() {
        sampler.windowClosed()
        last = (Self.lowPriorityCPUSeconds(helperPID), churn.counts.replacements, Clock.monotonicMicroseconds())
    }

    /// The maintenance thread's share of one core during the window, in percent.
    var cpuPercent: Double {
        guard let first, let last, last.at > first.at else { return 0 }
        return (last.cpu - first.cpu) / (Double(last.at - first.at) / 1e6) * 100
    }

    /// Replacement keys announced during the window.
    var keysFinished: Int {
        guard let first, let last else { return 0 }
        return last.replacements - first.replacements
    }

    /// CPU seconds of the threads of `pid` running with a positive nice value.
    static func lowPriorityCPUSeconds(_ pid: Int32) -> Double {
        guard let tids = try? FileSystem.listDirectory("/proc/\(pid)/task") else { return 0 }
        var total = 0.0
        for tid in tids {
            guard let stat = ProcFS.read("/proc/\(pid)/task/\(tid)/stat"), let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            // fields[0] is stat field 3; utime, stime and nice are fields 14, 15 and 19.
            guard fields.count > 16, let nice = Int(fields[16]), nice > 0,
                  let (_, user, system) = ProcFS.parseStat(stat) else { continue }
            total += user + system
        }
        return total
    }
}
