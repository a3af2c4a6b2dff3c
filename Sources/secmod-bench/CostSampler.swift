import SecmodSystem
#if canImport(Glibc)
import Glibc
#endif

/// Where the CPU went during one load window: the helper's threads, the client threads
/// (this process) and the idle time of the machine, with the helper's context switches.
///
/// On a 2-vCPU machine the helper and its clients share the same cores, so throughput is
/// bounded by total CPU per signature; these numbers say which side spends it.
final class CostSampler: WindowObserver {
    private let helperPID: Int32?
    private var first: Snapshot?
    private var last: Snapshot?

    /// Without a helper, only this process and the machine are sampled.
    init(helperPID: Int32?) { self.helperPID = helperPID }

    func windowOpened() { first = Snapshot(helperPID: helperPID) }
    func windowClosed() { last = Snapshot(helperPID: helperPID) }

    /// The share of all CPUs that processes other than the helper and this bench used during
    /// the window, in percent: a parallel build or test run makes every figure meaningless.
    func foreignPercent() -> Double? {
        guard let first, let last else { return nil }
        let capacity = (last.system.total - first.system.total) / ProcFS.ticksPerSecond
        guard capacity > 0 else { return nil }
        let busy = capacity - (last.system.idle - first.system.idle) / ProcFS.ticksPerSecond
        let ours = (last.helperCPU - first.helperCPU) + (last.clientCPU - first.clientCPU)
        return max(0, (busy - ours) / capacity * 100)
    }

    /// The window's costs, divided per operation.
    func costs(operations: Int) -> Costs? {
        guard let first, let last, operations > 0 else { return nil }
        return Costs(first: first, last: last, operations: Double(operations))
    }

    struct Snapshot {
        let helperThreads: [ProcFS.ThreadSample]
        let helperCPU: Double
        let clientCPU: Double
        let clientThreads: [ProcFS.ThreadSample]
        let system: (idle: Double, total: Double)

        init(helperPID: Int32?) {
            helperThreads = helperPID.map { ProcFS.threads(of: $0) } ?? []
            helperCPU = helperPID.map { ProcFS.processCPUSeconds($0) } ?? 0
            clientCPU = ProcFS.processCPUSeconds(getpid())
            clientThreads = ProcFS.threads(of: getpid())
            system = ProcFS.systemTicks()
        }
    }

    struct Costs {
        /// Per signature, in µs of CPU.
        let helperMicroseconds: Double
        let loopMicroseconds: Double
        let workerMicroseconds: Double
        /// The kernel's share (system time) of the helper's and of the loop's CPU.
        let helperSystemMicroseconds: Double
        let loopSystemMicroseconds: Double
        let clientMicroseconds: Double
        /// Per signature: times helper threads slept (voluntary) or were preempted.
        let helperSleeps: Double
        let loopSleeps: Double
        let helperPreemptions: Double
        let clientSleeps: Double
        /// Share of the machine's CPU time left idle, in percent.
        let idlePercent: Double
        /// Per helper thread: name, CPU share of one core in percent, sleeps per signature.
        let threadLines: [String]

        init(first: Snapshot, last: Snapshot, operations: Double) {
            let perOp = 1e6 / operations
            helperMicroseconds = (last.helperCPU - first.helperCPU) * perOp
            clientMicroseconds = (last.clientCPU - first.clientCPU) * perOp
            let before = Dictionary(first.helperThreads.map { ($0.tid, $0) }, uniquingKeysWith: { a, _ in a })
            var loop = 0.0, workers = 0.0, helperSystem = 0.0, loopSystem = 0.0
            var sleepCount = 0, loopSleepCount = 0, preemptionCount = 0
            var lines: [String] = []
            let mainTID = last.helperThreads.first?.tid
            let wall = Self.wallSeconds(first, last)
            for t in last.helperThreads {
                guard let b = before[t.tid] else { continue }
                let cpu = t.cpuSeconds - b.cpuSeconds
                let system = t.systemSeconds - b.systemSeconds
                helperSystem += system
                if t.tid == mainTID { loopSystem += system }
                let vol = t.voluntarySwitches - b.voluntarySwitches
                let invol = t.involuntarySwitches - b.involuntarySwitches
                if t.tid == mainTID { loop += cpu; loopSleepCount += vol } else { workers += cpu }
                sleepCount += vol
                preemptionCount += invol
                if cpu > 0 || vol > 0 {
                    let role = t.tid == mainTID ? "loop" : "thread"
                    lines.append("  helper \(role) \(t.tid) \(t.name): cpu \(Report.format(cpu / wall * 100, decimals: 0))% of a core "
                                 + "(\(Report.format(system * perOp, decimals: 1)) µs/signature in the kernel), "
                                 + "\(Report.format(Double(vol) / operations, decimals: 2)) sleeps and \(Report.format(Double(invol) / operations, decimals: 2)) preemptions per signature")
                }
            }
            loopMicroseconds = loop * perOp
            helperSystemMicroseconds = helperSystem * perOp
            loopSystemMicroseconds = loopSystem * perOp
            workerMicroseconds = workers * perOp
            helperSleeps = Double(sleepCount) / operations
            loopSleeps = Double(loopSleepCount) / operations
            helperPreemptions = Double(preemptionCount) / operations
            let clientBefore = Dictionary(first.clientThreads.map { ($0.tid, $0) }, uniquingKeysWith: { a, _ in a })
            var clientVol = 0
            for t in last.clientThreads { if let b = clientBefore[t.tid] { clientVol += t.voluntarySwitches - b.voluntarySwitches } }
            clientSleeps = Double(clientVol) / operations
            let total = last.system.total - first.system.total
            idlePercent = total > 0 ? (last.system.idle - first.system.idle) / total * 100 : 0
            threadLines = lines
        }

        private static func wallSeconds(_ a: Snapshot, _ b: Snapshot) -> Double {
            // /proc/stat ticks over all CPUs divided by the CPU count give the elapsed time.
            let cpus = Double(OSThread.availableProcessors)
            return max(1e-9, (b.system.total - a.system.total) / ProcFS.ticksPerSecond / cpus)
        }
    }
}
