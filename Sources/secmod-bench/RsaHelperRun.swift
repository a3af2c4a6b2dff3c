import SecmodBase
import SecmodClient
import SecmodCrypto
import SecmodSystem

/// One run of the real `taler-exchange-secmod-rsa` for every key size: one denomination per
/// size plus one of 4096-bit keys to revoke, one key each. Started once, because creating
/// the keys takes seconds; stopped with SIGTERM, exit status 0 required.
final class RsaHelperRun {
    static let program = "taler-exchange-secmod-rsa"
    static let section = "taler-exchange-secmod-rsa"
    /// The denomination whose keys are revoked to keep the maintenance thread generating.
    static let churnSection = "coin_churn"
    static let churnBits = 4096

    /// One key per denomination: a day's key covers the hour of lookahead, so the initial
    /// generation (the helper answers INIT only after it) takes a few seconds, not minutes.
    static func config(sizes: [Int]) -> String {
        var text = """
            OVERLAP_DURATION = 5 minutes
            LOOKAHEAD_SIGN = 1 hour
            RSA_ENGINE = openssl

            """
        for (section, bits) in sizes.map({ (denomination(bits: $0), $0) }) + [(churnSection, churnBits)] {
            text += "\n[\(section)]\nCIPHER = RSA\nDURATION_WITHDRAW = 1 day\nRSA_KEYSIZE = \(bits)\n"
        }
        return text
    }

    static func denomination(bits: Int) -> String { "coin_rsa\(bits)" }

    /// One helper configuration: `clients` threads, each sending single requests (batch
    /// nil) or batches of that many; `keygen` revokes churn keys throughout.
    struct Configuration {
        let label: String
        let clients: Int
        let batch: Int?
        var keygen = false

        var signaturesPerOperation: Int { batch ?? 1 }
    }

    /// In run order. c8 comes right before keygen, which repeats it with generation under
    /// way, so that the two p99 values are as close in time as possible.
    static let configurations = [
        Configuration(label: "c1", clients: 1, batch: nil),
        Configuration(label: "batch16", clients: 1, batch: 16),
        Configuration(label: "batch256", clients: 1, batch: 256),
        Configuration(label: "batch16.c8", clients: 8, batch: 16),
        Configuration(label: "c8", clients: 8, batch: nil),
        Configuration(label: "keygen", clients: 8, batch: nil, keygen: true),
    ]

    let options: BenchOptions
    let interference: Interference
    let helper: HelperProcess
    /// The keys announced at start, with the churn section's.
    private(set) var keys: [RsaDenominationKey] = []

    private init(options: BenchOptions, interference: Interference, helper: HelperProcess) {
        self.options = options
        self.interference = interference
        self.helper = helper
    }

    /// Starts the helper, waits until it serves (its keys exist), runs `body`, stops it.
    static func run(options: BenchOptions, sizes: [Int], interference: Interference, report: Report,
                    body: (RsaHelperRun) throws(SecmodError) -> Void) throws(SecmodError) {
        let started = Clock.monotonicMicroseconds()
        let helper = try HelperProcess(program: program, section: section, config: config(sizes: sizes),
                                       workers: options.helperWorkers, transport: options.transport)
        let run = RsaHelperRun(options: options, interference: interference, helper: helper)
        var failure: SecmodError?
        do throws(SecmodError) {
            try helper.waitUntilServing(timeoutSeconds: 120) { (path: String) throws(SecmodError) in
                let probe = RsaHelperClient(socketPath: path, transport: options.transport)
                try probe.connect(timeout: .seconds(120))
                run.keys = probe.keys
                probe.disconnect()
            }
            let seconds = Double(Clock.monotonicMicroseconds() - started) / 1e6
            report.note("helper pid \(helper.pid) serving \(helper.socketPath) with \(run.keys.count) keys after "
                        + "\(Report.format(seconds, decimals: 1)) s of key generation, "
                        + (options.helperWorkers.map { "-w \($0)" } ?? "default workers"))
            try body(run)
        } catch {
            failure = error
        }
        try helper.finish(after: failure, report: report)
    }

    func key(bits: Int) throws(SecmodError) -> RsaDenominationKey {
        guard let key = keys.first(where: { $0.section == Self.denomination(bits: bits) }) else {
            throw SecmodError(.unavailable, "the helper announced no key for [\(Self.denomination(bits: bits))]")
        }
        return key
    }

    /// Every configuration for one key size; returns the rates in signatures/s under their
    /// labels, in run order, for the ratios. `beforeEach` runs while the helper idles: the
    /// in-process baseline samples the machine there.
    func measure(bits: Int, report: Report, beforeEach: () throws(SecmodError) -> Void) throws(SecmodError) -> [(String, Double)] {
        let key = try key(bits: bits)
        var rates: [(String, Double)] = []
        var p99: [String: Double] = [:]
        for configuration in Self.configurations {
            try beforeEach()
            let (rate, latency) = try measure(configuration, key: key, prefix: "rsa\(bits)", report: report)
            rates.append((configuration.label, rate))
            p99[configuration.label] = latency
        }
        if let with = p99["keygen"], let without = p99["c8"] {
            report.figure("rsa\(bits).p99.keygen_ratio", without > 0 ? with / without : 0, decimals: 2)
        }
        return rates
    }

    /// One window; prints its figures and returns signatures/s and p99 in µs.
    private func measure(_ c: Configuration, key: RsaDenominationKey, prefix p: String, report: Report) throws(SecmodError) -> (Double, Double) {
        let makeOperation = if let batch = c.batch {
            try RsaWorkloads.helperBatchSigning(endpoint: helper.endpoint, key: key, size: batch)
        } else {
            try RsaWorkloads.helperSigning(endpoint: helper.endpoint, key: key)
        }
        let sampler = CostSampler(helperPID: helper.pid)
        var churn: RsaKeyChurn?
        var keygen: KeygenObserver?
        if c.keygen {
            let started = try RsaKeyChurn(endpoint: helper.endpoint, section: Self.churnSection)
            churn = started
            keygen = KeygenObserver(sampler: sampler, helperPID: helper.pid, churn: started)
        }
        let result: LoadResult
        do throws(SecmodError) {
            result = try LoadRunner.run(threads: c.clients, warmupSeconds: options.warmupSeconds, seconds: options.seconds,
                                        recordLatency: true, name: "client", observer: keygen ?? sampler,
                                        makeOperation: makeOperation)
        } catch {
            churn?.stop()
            throw error
        }
        let churnStopped = Clock.monotonicMicroseconds()
        if let failure = churn?.stop() { throw failure }
        interference.record(sampler, window: "\(p).helper.\(c.label)")

        let signatures = result.operations * c.signaturesPerOperation
        let rate = result.rate * Double(c.signaturesPerOperation)
        let p99 = result.latency.percentileMicroseconds(99)
        report.figure("\(p).helper.\(c.label)", rate, decimals: 0)
        report.figure("\(p).p50.\(c.label)", result.latency.percentileMicroseconds(50))
        report.figure("\(p).p99.\(c.label)", p99)
        if let keygen, let churn {
            report.figure("\(p).keygen.cpu", keygen.cpuPercent, decimals: 0)
            report.figure("\(p).keygen.keys", Double(keygen.keysFinished), decimals: 0)
            let drain = Double(Clock.monotonicMicroseconds() - churnStopped) / 1e6
            report.note("  (revoked \(churn.counts.revocations) keys of [\(Self.churnSection)] (\(Self.churnBits) bits); "
                        + "the maintenance thread used \(Report.format(keygen.cpuPercent, decimals: 0))% of a core and finished "
                        + "\(keygen.keysFinished) keys in the window; the last replacement took \(Report.format(drain, decimals: 1)) s more)")
        }
        if let costs = sampler.costs(operations: signatures) {
            report.figure("\(p).cpu.helper.\(c.label)", costs.helperMicroseconds)
            report.figure("\(p).cpu.loop.\(c.label)", costs.loopMicroseconds)
            report.figure("\(p).cpu.client.\(c.label)", costs.clientMicroseconds)
            report.figure("\(p).idle.\(c.label)", costs.idlePercent)
            report.note(describe(result, costs, c))
            for line in costs.threadLines { report.note(line) }
        }
        return (rate, p99)
    }

    private func describe(_ result: LoadResult, _ costs: CostSampler.Costs, _ c: Configuration) -> String {
        func f(_ v: Double, _ d: Int = 1) -> String { Report.format(v, decimals: d) }
        let shape = c.batch.map { "batches of \($0)" } ?? "single requests"
        return "  \(c.clients) clients, \(shape): \(result.operations * c.signaturesPerOperation) signatures, "
            + "mean \(f(result.latency.meanMicroseconds)) µs per request; CPU per signature: helper \(f(costs.helperMicroseconds)) µs "
            + "(kernel \(f(costs.helperSystemMicroseconds)); loop \(f(costs.loopMicroseconds)), workers+other \(f(costs.workerMicroseconds))), "
            + "clients \(f(costs.clientMicroseconds)) µs; helper sleeps \(f(costs.helperSleeps, 2)) and preemptions "
            + "\(f(costs.helperPreemptions, 2)) per signature; machine idle \(f(costs.idlePercent, 0))%"
    }
}
