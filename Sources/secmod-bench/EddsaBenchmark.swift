import SecmodBase
import SecmodCrypto
import SecmodSystem

/// `secmod-bench eddsa`: how close the EdDSA helper comes to signing in-process.
///
/// The exchange could sign with libsodium itself; the helper exists to keep the key out of
/// the exchange's address space. The price of that isolation is the ratio of the helper's
/// rate to the in-process rate on the same cores, which this benchmark measures, together
/// with the thread hand-off costs and the CPU split that explain it.
struct EddsaBenchmark: Benchmark {
    static let name = "eddsa"
    static let summary = "Ed25519 in-process vs taler-exchange-secmod-eddsa with 1, 2, 8 clients"

    let options: BenchOptions

    init(options: BenchOptions) { self.options = options }

    func run(report: Report) throws(SecmodError) {
        report.note("secmod-bench eddsa: \(OSThread.availableProcessors) CPUs, helper windows of \(options.seconds) s, "
                    + "in-process \(Report.format(options.inProcessSeconds, decimals: 1)) s, warm-up \(options.warmupSeconds) s")
        let key = try Ed25519PrivateKey(seed: Ed25519PrivateKey.generateSeed())
        let interference = Interference(report: report)
        let oneSampler = CostSampler(helperPID: nil)
        let oneThread = try LoadRunner.run(threads: 1, warmupSeconds: 0.5, seconds: options.inProcessSeconds, recordLatency: false,
                                           name: "inproc", observer: oneSampler,
                                           makeOperation: EddsaWorkloads.inProcessSigning(key: key))
        interference.record(oneSampler, window: "eddsa.inproc.1t")
        report.figure("eddsa.inproc.1t", oneThread.rate, decimals: 0)
        try measureVerification(key: key, report: report)
        try measureHandOffs(report: report)

        // One baseline slice before each helper configuration and one after the last.
        let baseline = InProcessBaseline(key: key, threads: 2)
        let configurations = options.clientCounts.count * options.clientKinds.count
        let slice = options.inProcessSeconds / Double(configurations + 1)
        let helperRates = try EddsaHelperRun(options: options, interference: interference).measure(report: report) { () throws(SecmodError) in
            try baseline.sample(seconds: slice, interference: interference)
        }
        try baseline.sample(seconds: slice, interference: interference)

        let models = try measureDesignModels(key: key, clients: options.clientCounts.max() ?? 8, interference: interference,
                                             baseline: baseline, slice: slice, report: report)
        let twoThreads = baseline.rate
        report.figure("eddsa.inproc.2t", twoThreads, decimals: 0)
        report.note("  (2 threads, \(baseline.slices.count) slices of \(Report.format(slice, decimals: 2)) s between the helper runs: "
                    + "\(Report.format(baseline.spread.low, decimals: 0)) to \(Report.format(baseline.spread.high, decimals: 0)) signatures/s)")
        for (label, rate) in helperRates {
            report.figure("eddsa.ratio.\(label)", twoThreads > 0 ? rate / twoThreads : 0, decimals: 2)
        }
        for (model, clients, rate) in models {
            report.figure("eddsa.model.\(model.rawValue).ratio.c\(clients)", twoThreads > 0 ? rate / twoThreads : 0, decimals: 2)
        }
        interference.finish()
    }

    /// The two server models (`DesignModels`) at the helper's largest client count, each
    /// followed by a baseline slice: the ceiling of the helper's design on this machine, and
    /// that of a design without the hand-off.
    private func measureDesignModels(key: Ed25519PrivateKey, clients: Int, interference: Interference,
                                     baseline: InProcessBaseline, slice: Double, report: Report) throws(SecmodError)
        -> [(DesignModels.Model, Int, Double)] {
        var rates: [(DesignModels.Model, Int, Double)] = []
        for model in DesignModels.Model.allCases {
            let rate = try DesignModels.measure(model, key: key, clients: clients, servers: max(2, OSThread.availableProcessors),
                                                warmup: options.warmupSeconds, seconds: options.seconds)
            report.figure("eddsa.model.\(model.rawValue).c\(clients)", rate, decimals: 0)
            rates.append((model, clients, rate))
            try baseline.sample(seconds: slice, interference: interference)
        }
        report.note("  (models in this process, the helper's signing call without its engine: pool = one loop handing each request "
                    + "to two workers, as the helper; inline = a thread per CPU signing where it received)")
        return rates
    }

    /// `EddsaHelperClient` verifies every signature it receives, on the client's cores.
    private func measureVerification(key: Ed25519PrivateKey, report: Report) throws(SecmodError) {
        let verify = try LoadRunner.run(threads: 1, warmupSeconds: 0.2, seconds: max(0.2, options.inProcessSeconds / 2),
                                        recordLatency: false, name: "verify",
                                        makeOperation: EddsaWorkloads.verification(key: key))
        report.figure("eddsa.verify.1t", verify.rate, decimals: 0)
        report.note("  (EddsaHelperClient verifies every signature it receives: \(Report.format(1e6 / verify.rate, decimals: 1)) µs of client CPU per request)")
    }

    /// The floor under one thread hand-off, for each primitive a request crosses.
    private func measureHandOffs(report: Report) throws(SecmodError) {
        let seconds = max(0.3, options.inProcessSeconds / 2)
        report.figure("unix.dgram.rtt", try PingPong.measure(DatagramHandOff(), seconds: seconds, name: "dgram"))
        report.figure("eventfd.rtt", try PingPong.measure(EventfdHandOff(), seconds: seconds, name: "eventfd"))
        report.figure("sem.rtt", try PingPong.measure(SemaphoreHandOff(), seconds: seconds, name: "sem"))
        report.note("  (round trips between two threads: a datagram on a socketpair; poll+eventfd as the Mailbox; sem_t as the WorkerPool)")
    }
}
