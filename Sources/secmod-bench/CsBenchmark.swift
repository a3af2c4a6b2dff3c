import SecmodBase
import SecmodClient
import SecmodCrypto
import SecmodSystem

/// `secmod-bench cs`: how close `taler-exchange-secmod-cs` comes to Clause-Schnorr blind
/// signing in this process, single requests and batches of 256, with 1 and 8 clients.
///
/// The limit is `ClauseSchnorrKey.sign` on two threads with one shared key: r derivation,
/// b, s and its scalar self-check, which the helper pays on every signature too. The
/// clients do not check the signatures, as Taler's exchange does not (the wallet checks
/// after unblinding): the check costs a client about what signing costs the helper, and on
/// a 2-core machine it would halve what the helper gets. `cs.helper.c8.verified` shows
/// what the library's default check costs.
struct CsBenchmark: Benchmark {
    static let name = "cs"
    static let summary = "Clause-Schnorr blind signing in-process vs taler-exchange-secmod-cs, single and batches of 256"

    static let program = "taler-exchange-secmod-cs"
    static let section = "taler-exchange-secmod-cs"
    static let config = "OVERLAP_DURATION = 5 minutes\nLOOKAHEAD_SIGN = 1 hour\n\n[coin_cs]\nCIPHER = CS\nDURATION_WITHDRAW = 1 day\n"
    static let configurations: [(label: String, clients: Int, batch: Int?)] = [
        ("c1", 1, nil), ("c8", 8, nil), ("batch256", 1, 256), ("batch256.c8", 8, 256), ("c8.verified", 8, nil),
    ]

    let options: BenchOptions

    init(options: BenchOptions) { self.options = options }

    func run(report: Report) throws(SecmodError) {
        let started = Clock.monotonicMicroseconds()
        report.note("secmod-bench cs: \(OSThread.availableProcessors) CPUs, helper windows of \(options.seconds) s, "
                    + "in-process \(Report.format(options.inProcessSeconds, decimals: 1)) s, warm-up \(options.warmupSeconds) s")
        let interference = Interference(report: report)
        let helper = try HelperProcess(program: Self.program, section: Self.section, config: Self.config,
                                       workers: options.helperWorkers, transport: options.transport)
        var failure: SecmodError?
        do throws(SecmodError) {
            var announced: [CsDenominationKey] = []
            try helper.waitUntilServing(timeoutSeconds: 60) { (path: String) throws(SecmodError) in
                let probe = CsHelperClient(socketPath: path, transport: options.transport)
                try probe.connect(timeout: .seconds(60))
                announced = probe.keys
                probe.disconnect()
            }
            let now = Timestamp(microseconds: Clock.wallMicroseconds())
            guard let key = announced.first(where: { $0.anchor <= now }) else {
                throw SecmodError(.unavailable, "the CS helper announced no valid key")
            }
            try measure(helper: helper, key: key, interference: interference, report: report)
        } catch {
            failure = error
        }
        try helper.finish(after: failure, report: report)
        report.note("total \(Report.format(Double(Clock.monotonicMicroseconds() - started) / 1e6, decimals: 0)) s")
        interference.finish()
    }

    private func measure(helper: HelperProcess, key: CsDenominationKey, interference: Interference, report: Report) throws(SecmodError) {
        var scalar = ClauseSchnorrKey.generateScalar()
        _ = scalar.withUnsafeMutableBytes { $0.count }
        let local = try ClauseSchnorrKey(scalar: scalar)
        let oneSampler = CostSampler(helperPID: helper.pid)
        let one = try LoadRunner.run(threads: 1, warmupSeconds: 0.3, seconds: options.inProcessSeconds, recordLatency: false,
                                     name: "inproc", observer: oneSampler, makeOperation: Self.inProcessSigning(key: local))
        interference.record(oneSampler, window: "cs.limit.1t")
        report.figure("cs.limit.1t", one.rate, decimals: 0)

        let baseline = SlicedBaseline(threads: 2, name: "cs in-process", helperPID: helper.pid,
                                      makeOperation: Self.inProcessSigning(key: local))
        let slice = options.inProcessSeconds / Double(Self.configurations.count + 1)
        var rates: [(String, Double)] = []
        for c in Self.configurations {
            try baseline.sample(seconds: slice, interference: interference)
            let sampler = CostSampler(helperPID: helper.pid)
            let result = try LoadRunner.run(threads: c.clients, warmupSeconds: options.warmupSeconds, seconds: options.seconds,
                                            recordLatency: true, name: "client", observer: sampler,
                                            makeOperation: try Self.helperSigning(endpoint: helper.endpoint, key: key, batch: c.batch,
                                                                                   verify: c.label.hasSuffix(".verified")))
            interference.record(sampler, window: "cs.helper.\(c.label)")
            let perOperation = Double(c.batch ?? 1)
            let rate = result.rate * perOperation
            rates.append((c.label, rate))
            report.figure("cs.helper.\(c.label)", rate, decimals: 0)
            report.figure("cs.p50.\(c.label)", result.latency.percentileMicroseconds(50))
            report.figure("cs.p99.\(c.label)", result.latency.percentileMicroseconds(99))
            if let costs = sampler.costs(operations: result.operations * (c.batch ?? 1)) {
                report.figure("cs.cpu.helper.\(c.label)", costs.helperMicroseconds)
                report.figure("cs.cpu.client.\(c.label)", costs.clientMicroseconds)
            }
        }
        try baseline.sample(seconds: slice, interference: interference)
        let limit = baseline.rate
        report.figure("cs.limit.2t", limit, decimals: 0)
        report.note("  (in-process on 2 threads, \(baseline.slices.count) slices between the helper windows: "
                    + "\(Report.format(baseline.spread.low, decimals: 0)) to \(Report.format(baseline.spread.high, decimals: 0)) signatures/s)")
        for (label, rate) in rates {
            report.figure("cs.ratio.\(label)", limit > 0 ? rate / limit : 0, decimals: 2)
        }
    }

    /// One blind signature in this process: what the helper's worker does per request.
    static func inProcessSigning(key: ClauseSchnorrKey) -> @Sendable (Int) -> Operation {
        { _ in
            let nonce = randomBytes(32), challenges = randomBytes(64)
            return { () throws(SecmodError) in
                _ = try key.sign(challenges: challenges, nonce: nonce, use: .withdraw)
            }
        }
    }

    /// One blocking client per thread: R values derived once per item (a wallet's first
    /// round trip, not timed), then SIGN, or BATCH_SIGN of `batch` items, per operation.
    static func helperSigning(endpoint: HelperEndpoint, key: CsDenominationKey, batch: Int?, verify: Bool) throws(SecmodError) -> @Sendable (Int) throws(SecmodError) -> Operation {
        let hash = key.hash
        return { (_: Int) throws(SecmodError) -> Operation in
            let client = CsHelperClient(socketPath: endpoint.path, transport: endpoint.transport)
            client.verifiesSignatures = verify
            try client.connect(timeout: .seconds(20))
            let nonces = (0..<(batch ?? 1)).map { _ in randomBytes(32) }
            let rs = try client.batchDerive(nonces.map { (hash, $0, false) })
            var items: [CsSignItem] = []
            for (nonce, r) in zip(nonces, rs) {
                items.append(CsSignItem(hash: hash, nonce: nonce, challenges: randomBytes(64), publicNonces: try r.get()))
            }
            if batch == nil {
                let item = items[0]
                return { () throws(SecmodError) in _ = try client.sign(item) }
            }
            return { () throws(SecmodError) in
                for result in try client.batchSign(items) {
                    if case let .failure(error) = result { throw error }
                }
            }
        }
    }
}
