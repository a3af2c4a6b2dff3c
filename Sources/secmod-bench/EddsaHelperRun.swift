import SecmodBase
import SecmodClient
import SecmodSystem

/// One run of the real `taler-exchange-secmod-eddsa`: start it, load it with 1, 2, 8
/// clients of each kind, stop it with SIGTERM and require exit status 0.
struct EddsaHelperRun {
    static let program = "taler-exchange-secmod-eddsa"
    static let section = "taler-exchange-secmod-eddsa"
    /// A few keys, created in milliseconds: enough for a valid schedule, nothing to wait for.
    static let config = """
        DURATION = 1 day
        OVERLAP_DURATION = 5 minutes
        LOOKAHEAD_SIGN = 2 days

        """

    let options: BenchOptions
    let interference: Interference

    /// Which client drives the helper: the exchange's library without its own signature
    /// check (the helper's figures), the same library with the check (what an exchange that
    /// keeps the default pays), or the diagnostic raw client.
    enum ClientKind: String {
        case library, verifying, raw

        var figurePrefix: String {
            switch self {
            case .library: ""
            case .verifying: "verifying."
            case .raw: "raw."
            }
        }

        func makeOperation(endpoint: HelperEndpoint) -> @Sendable (Int) throws(SecmodError) -> Operation {
            switch self {
            case .library: EddsaWorkloads.helperSigning(endpoint: endpoint, verify: false)
            case .verifying: EddsaWorkloads.helperSigning(endpoint: endpoint, verify: true)
            case .raw: EddsaWorkloads.rawHelperSigning(socketPath: endpoint.path)  // datagram only
            }
        }
    }

    /// Prints every configuration's figures; returns its rate under its label ("c8", "raw.c8"),
    /// in run order, for the ratios. `beforeEach` runs before every configuration, while the
    /// helper idles: the in-process baseline samples the machine there.
    func measure(report: Report, beforeEach: () throws(SecmodError) -> Void) throws(SecmodError) -> [(String, Double)] {
        let helper = try HelperProcess(program: Self.program, section: Self.section, config: Self.config,
                                       workers: options.helperWorkers, transport: options.transport)
        var rates: [(String, Double)] = []
        var failure: SecmodError?
        do throws(SecmodError) {
            try helper.waitUntilServing(timeoutSeconds: 30) { (path: String) throws(SecmodError) in
                let probe = EddsaHelperClient(socketPath: path, transport: options.transport)
                try probe.connect(timeout: .seconds(20))
                report.note("helper pid \(helper.pid) serving \(path) with \(probe.keys.count) keys, "
                            + (options.helperWorkers.map { "-w \($0)" } ?? "default workers"))
                probe.disconnect()
            }
            for kind in options.clientKinds.compactMap(ClientKind.init(rawValue:)) {
                for clients in options.clientCounts {
                    let label = kind.figurePrefix + "c\(clients)"
                    try beforeEach()
                    rates.append((label, try measure(clients: clients, kind: kind, label: label, helper: helper, report: report)))
                }
            }
        } catch {
            failure = error
        }
        try helper.finish(after: failure, report: report)
        return rates
    }

    private func measure(clients: Int, kind: ClientKind, label c: String, helper: HelperProcess, report: Report) throws(SecmodError) -> Double {
        let sampler = CostSampler(helperPID: helper.pid)
        let result = try LoadRunner.run(threads: clients, warmupSeconds: options.warmupSeconds, seconds: options.seconds,
                                        recordLatency: true, name: "client", observer: sampler,
                                        makeOperation: kind.makeOperation(endpoint: helper.endpoint))
        interference.record(sampler, window: "eddsa.helper.\(c)")
        report.figure("eddsa.helper.\(c)", result.rate, decimals: 0)
        report.figure("eddsa.p50.\(c)", result.latency.percentileMicroseconds(50))
        report.figure("eddsa.p99.\(c)", result.latency.percentileMicroseconds(99))
        guard let costs = sampler.costs(operations: result.operations) else { return result.rate }
        report.figure("eddsa.cpu.helper.\(c)", costs.helperMicroseconds)
        report.figure("eddsa.cpu.loop.\(c)", costs.loopMicroseconds)
        report.figure("eddsa.cpu.client.\(c)", costs.clientMicroseconds)
        report.figure("eddsa.sleeps.helper.\(c)", costs.helperSleeps)
        report.figure("eddsa.idle.\(c)", costs.idlePercent)
        report.note(describe(result, costs, clients: clients, kind: kind))
        for line in costs.threadLines { report.note(line) }
        return result.rate
    }

    private func describe(_ result: LoadResult, _ costs: CostSampler.Costs, clients: Int, kind: ClientKind) -> String {
        func f(_ v: Double, _ d: Int = 1) -> String { Report.format(v, decimals: d) }
        return "  \(clients) \(kind.rawValue) clients: \(result.operations) signatures, mean \(f(result.latency.meanMicroseconds)) µs; "
            + "CPU per signature: helper \(f(costs.helperMicroseconds)) µs (kernel \(f(costs.helperSystemMicroseconds)); "
            + "loop \(f(costs.loopMicroseconds)), of it kernel \(f(costs.loopSystemMicroseconds)); "
            + "workers+other \(f(costs.workerMicroseconds))), clients \(f(costs.clientMicroseconds)) µs; "
            + "sleeps per signature: helper \(f(costs.helperSleeps, 2)) (loop \(f(costs.loopSleeps, 2))), "
            + "clients \(f(costs.clientSleeps, 2)); helper preemptions \(f(costs.helperPreemptions, 2)); "
            + "machine idle \(f(costs.idlePercent, 0))%"
    }
}
