import SecmodBase
import SecmodClient
import SecmodSystem

/// Each helper's peak resident memory (VmHWM) after 100,000 signatures, against the C
/// helpers' (7.6 MB EdDSA, 9.3 MB RSA in Taler's own tests): what a key holder costs to keep
/// around. In MB (10⁶ bytes), as `ps` and the Taler figures count.
struct MemoryBenchmark: Benchmark {
    static let name = "memory"
    static let summary = "each helper's peak RSS after 100,000 signatures (8 clients; RSA-2048 in batches of 256)"
    static let signatures = 100_000
    static let clients = 8

    let options: BenchOptions

    init(options: BenchOptions) { self.options = options }

    func run(report: Report) throws(SecmodError) {
        report.note("secmod-bench memory: \(OSThread.availableProcessors) CPUs, \(options.transport.rawValue) transport")
        try measure(program: EddsaHelperRun.program, section: EddsaHelperRun.section, config: EddsaHelperRun.config,
                    prefix: "memory.eddsa", report: report) { (endpoint: HelperEndpoint) throws(SecmodError) in
            (EddsaWorkloads.helperSigning(endpoint: endpoint, verify: false), 1)
        }
        let section = RsaHelperRun.denomination(bits: 2048)
        let rsaConfig = """
            OVERLAP_DURATION = 5 minutes
            LOOKAHEAD_SIGN = 1 hour
            [\(section)]
            CIPHER = RSA
            DURATION_WITHDRAW = 1 day
            RSA_KEYSIZE = 2048

            """
        try measure(program: RsaHelperRun.program, section: RsaHelperRun.section, config: rsaConfig,
                    prefix: "memory.rsa2048", report: report) { (endpoint: HelperEndpoint) throws(SecmodError) in
            let probe = RsaHelperClient(socketPath: endpoint.path, transport: endpoint.transport)
            try probe.connect(timeout: .seconds(60))
            let now = Clock.wallMicroseconds()
            guard let key = probe.keys.first(where: { $0.section == section && $0.anchor.microseconds <= now }) else {
                throw SecmodError(.unavailable, "the RSA helper announced no valid key for \(section)")
            }
            probe.disconnect()
            return (try RsaWorkloads.helperBatchSigning(endpoint: endpoint, key: key, size: 256), 256)
        }
    }

    /// Starts the helper, lets `clients` threads sign until `signatures` are made, and prints
    /// VmHWM before and after.
    private func measure(program: String, section: String, config: String, prefix: String, report: Report,
                         workload: (HelperEndpoint) throws(SecmodError) -> (@Sendable (Int) throws(SecmodError) -> Operation, Int))
        throws(SecmodError) {
        let helper = try HelperProcess(program: program, section: section, config: config,
                                       workers: options.helperWorkers, transport: options.transport)
        var failure: SecmodError?
        do throws(SecmodError) {
            try helper.waitUntilServing(timeoutSeconds: 120) { (path: String) throws(SecmodError) in
                report.note("helper pid \(helper.pid) serving \(path)")
            }
            report.figure(prefix + ".start_rss_mb", try peakMegabytes(helper.pid), decimals: 1)
            let (makeOperation, perOperation) = try workload(helper.endpoint)
            let operations = (Self.signatures + perOperation - 1) / perOperation
            let started = Clock.monotonicMicroseconds()
            try Self.run(operations: operations, threads: Self.clients, makeOperation: makeOperation)
            let seconds = Double(Clock.monotonicMicroseconds() - started) / 1e6
            report.note("  \(operations * perOperation) signatures in \(Report.format(seconds, decimals: 1)) s")
            report.figure(prefix + ".peak_rss_mb", try peakMegabytes(helper.pid), decimals: 1)
        } catch {
            failure = error
        }
        try helper.finish(after: failure, report: report)
    }

    /// VmHWM: the peak since the helper started.
    private func peakMegabytes(_ pid: Int32) throws(SecmodError) -> Double {
        guard let status = ProcFS.read("/proc/\(pid)/status") else {
            throw SecmodError(.permission, "cannot read /proc/\(pid)/status (the helper is not dumpable: run the benchmark as root)")
        }
        return Double(ProcFS.kibibytes("VmHWM", in: status)) * 1024 / 1e6
    }

    /// `operations` calls shared out over `threads` threads, each with its own client.
    private static func run(operations: Int, threads: Int,
                            makeOperation: @escaping @Sendable (Int) throws(SecmodError) -> Operation) throws(SecmodError) {
        let next = Locked(0), failure = Locked<SecmodError?>(nil)
        var started: [OSThread] = []
        for index in 0..<threads {
            started.append(try OSThread.start(name: "client") {
                do throws(SecmodError) {
                    let operation = try makeOperation(index)
                    while failure.withLock({ $0 }) == nil {
                        let mine = next.withLock { n -> Bool in
                            guard n < operations else { return false }
                            n += 1
                            return true
                        }
                        guard mine else { return }
                        try operation()
                    }
                } catch {
                    failure.withLock { $0 = $0 ?? error }
                }
            })
        }
        for thread in started { thread.join() }
        if let error = failure.withLock({ $0 }) { throw error }
    }
}
