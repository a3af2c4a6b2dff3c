import SecmodBase
import SecmodCrypto
import SecmodSystem

/// `secmod-bench rsa`: how close the RSA helper comes to blind-signing in-process, per key
/// size, and what key generation in the background does to its latency.
///
/// The limit is OpenSSL's private-key operation through `RsaPrivateKey` (the helper's default
/// engine, with the m < n check and the verification of every result the helper also pays).
/// RSA costs hundreds of µs to milliseconds per signature, so the helper's per-request
/// overhead (tens of µs, see `eddsa`) should all but vanish; the ratios say whether it does.
struct RsaBenchmark: Benchmark {
    static let name = "rsa"
    static let summary = "RSA blind signing in-process (3 engines) vs taler-exchange-secmod-rsa, 2048/3072/4096 bits"

    let options: BenchOptions

    init(options: BenchOptions) { self.options = options }

    func run(report: Report) throws(SecmodError) {
        let started = Clock.monotonicMicroseconds()
        report.note("secmod-bench rsa: \(OSThread.availableProcessors) CPUs, sizes \(options.rsaSizes.map(String.init).joined(separator: ",")), "
                    + "helper windows of \(options.seconds) s, in-process \(Report.format(options.inProcessSeconds, decimals: 1)) s, "
                    + "warm-up \(options.warmupSeconds) s")
        let interference = Interference(report: report)
        try RsaHelperRun.run(options: options, sizes: options.rsaSizes, interference: interference, report: report) { (helper) throws(SecmodError) in
            for bits in options.rsaSizes {
                try measure(bits: bits, helper: helper, interference: interference, report: report)
            }
        }
        report.note("total \(Report.format(Double(Clock.monotonicMicroseconds() - started) / 1e6, decimals: 0)) s")
        interference.finish()
    }

    private func measure(bits: Int, helper: RsaHelperRun, interference: Interference, report: Report) throws(SecmodError) {
        let p = "rsa\(bits)"
        let key = try RsaPrivateKey.generate(bits: bits, engine: .openssl)
        let pid = helper.helper.pid

        let oneSampler = CostSampler(helperPID: pid)
        let oneThread = try LoadRunner.run(threads: 1, warmupSeconds: 0.3, seconds: options.inProcessSeconds, recordLatency: false,
                                           name: "inproc", observer: oneSampler,
                                           makeOperation: RsaWorkloads.inProcessSigning(key: key))
        interference.record(oneSampler, window: "\(p).limit.1t")
        report.figure("\(p).limit.1t", oneThread.rate, decimals: 0)
        try measureEngines(key: key, prefix: p, helperPID: pid, interference: interference, report: report)

        // One baseline slice before each helper configuration and one after the last.
        let baseline = SlicedBaseline(threads: 2, name: "\(p) in-process", helperPID: pid,
                                      makeOperation: RsaWorkloads.inProcessSigning(key: key))
        let slice = options.inProcessSeconds / Double(RsaHelperRun.configurations.count + 1)
        let rates = try helper.measure(bits: bits, report: report) { () throws(SecmodError) in
            try baseline.sample(seconds: slice, interference: interference)
        }
        try baseline.sample(seconds: slice, interference: interference)

        let limit = baseline.rate
        report.figure("\(p).limit.2t", limit, decimals: 0)
        report.note("  (openssl on 2 threads, \(baseline.slices.count) slices of \(Report.format(slice, decimals: 2)) s between the helper runs: "
                    + "\(Report.format(baseline.spread.low, decimals: 0)) to \(Report.format(baseline.spread.high, decimals: 0)) signatures/s)")
        for (label, rate) in rates where label != "keygen" {
            report.figure("\(p).ratio.\(label)", limit > 0 ? rate / limit : 0, decimals: 2)
        }
        // The machine's speed drifts within seconds: the slices either side of each window
        // are its closest reference, and show whether a ratio above or below target is drift.
        let local = rates.enumerated().compactMap { (i, entry) -> String? in
            guard i + 1 < baseline.slices.count else { return nil }
            let reference = (baseline.slices[i].rate + baseline.slices[i + 1].rate) / 2
            return "\(entry.0) \(Report.format(reference > 0 ? entry.1 / reference : 0, decimals: 2))"
        }
        report.note("  (ratios to the two adjacent slices only: \(local.joined(separator: ", ")))")
    }

    /// Each engine on 2 threads with the same key, back to back: they differ by several times.
    private func measureEngines(key: RsaPrivateKey, prefix p: String, helperPID: Int32, interference: Interference, report: Report) throws(SecmodError) {
        let seconds = max(0.3, options.inProcessSeconds / 2)
        for engine in RsaEngineKind.allCases {
            let engineKey = engine == key.engine ? key : try RsaPrivateKey(keyFile: key.keyFile(), engine: engine)
            let sampler = CostSampler(helperPID: helperPID)
            let result = try LoadRunner.run(threads: 2, warmupSeconds: 0.2, seconds: seconds, recordLatency: false,
                                            name: "inproc", observer: sampler,
                                            makeOperation: RsaWorkloads.inProcessSigning(key: engineKey))
            interference.record(sampler, window: "\(p).engine.\(engine.rawValue).2t")
            report.figure("\(p).engine.\(engine.rawValue).2t", result.rate, decimals: 0)
        }
    }
}
