import SecmodBase
import SecmodClient
import SecmodCrypto
import SecmodSystem
import SecmodWire

/// `secmod-bench hostile`: what one hostile exchange process can do to everyone else.
/// For each helper, a good client's p50/p99 and the helper's peak RSS:
/// - `idle`: the good client alone;
/// - `idle4000`: with 4,000 idle sessions open (each costs the loop nothing per turn);
/// - `flood`: while one session pipelines requests and never reads, re-opening its session
///   whenever the helper closes it (once its replies fill the session, the helper stops
///   reading it: the flood costs others little);
/// - `busy`: the flood goes on and a second session pipelines the same requests but reads
///   and discards the replies, so that it always has SESSION_MAX_INFLIGHT signatures queued
///   and the workers never rest: the good client waits behind one job per busy session;
/// - `stop_s`: how long SIGTERM takes with both under way.
/// Latencies are µs, RSS MiB; `p99_ratio` compares with `idle` in the same run.
struct HostileBenchmark: Benchmark {
    static let name = "hostile"
    static let summary = "a good client's p50/p99 and the helper's RSS: alone, beside 4,000 idle sessions, during a flood"

    /// Idle sessions held open in the `idle4000` window.
    static let idleSessions = 4000

    let options: BenchOptions

    init(options: BenchOptions) { self.options = options }

    func run(report: Report) throws(SecmodError) {
        _ = try DescriptorLimit.raiseToHardLimit()  // the idle sessions' descriptors
        report.note("secmod-bench hostile: \(OSThread.availableProcessors) CPUs, \(options.transport.rawValue) transport, windows of \(options.seconds) s")
        let prefix = options.transport == .stream ? "hostile.stream" : "hostile"
        try measure(HostileTarget.eddsa, prefix: "\(prefix).eddsa", report: report)
        try measure(HostileTarget.rsa2048, prefix: "\(prefix).rsa2048", report: report)
    }

    private func measure(_ target: HostileTarget, prefix p: String, report: Report) throws(SecmodError) {
        let helper = try HelperProcess(program: target.program, section: target.section, config: target.config,
                                       workers: options.helperWorkers, transport: options.transport)
        var failure: SecmodError?
        do throws(SecmodError) {
            var good: GoodClient!
            try helper.waitUntilServing(timeoutSeconds: 120) { (_: String) throws(SecmodError) in
                good = try target.prepare(helper.endpoint)
            }
            let endpoint = helper.endpoint
            let idle = try window(good, helper: helper)
            idle.print(p + ".idle", report: report, idle: nil)

            let opened = Clock.monotonicMicroseconds()
            var sessions: [HostileSession] = []
            sessions.reserveCapacity(Self.idleSessions)
            for _ in 0..<Self.idleSessions {
                sessions.append(try HostileSession(endpoint: endpoint, initType: target.initType, syncedType: target.syncedType))
            }
            report.note("  opened \(Self.idleSessions) idle sessions in \(Report.format(Double(Clock.monotonicMicroseconds() - opened) / 1e6, decimals: 1)) s")
            let crowded = try window(good, helper: helper)
            crowded.print(p + ".idle4000", report: report, idle: idle)
            sessions.removeAll()

            let flood = try Flood(endpoint: endpoint, request: good.floodRequest, initType: target.initType, syncedType: target.syncedType)
            Clock.sleep(microseconds: UInt64(options.warmupSeconds * 1e6) + 500_000)  // the flood reaches its bound
            let flooded = try window(good, helper: helper)
            flooded.print(p + ".flood", report: report, idle: idle)
            if let error = flood.failed { throw error }
            let busy = try Flood(endpoint: endpoint, request: good.floodRequest, initType: target.initType,
                                 syncedType: target.syncedType, draining: true)
            Clock.sleep(microseconds: UInt64(options.warmupSeconds * 1e6) + 500_000)
            let busied = try window(good, helper: helper)
            busied.print(p + ".busy", report: report, idle: idle)
            if let error = busy.failed { throw error }
            let stopStart = Clock.monotonicMicroseconds()
            let status = helper.stop()
            let stopSeconds = Double(Clock.monotonicMicroseconds() - stopStart) / 1e6
            let (sent, floodSessions) = flood.stop()
            let (busySent, busySessions) = busy.stop()
            report.figure(p + ".stop_s", stopSeconds, decimals: 2)
            report.note("  the flood sent \(sent) requests on \(floodSessions) sessions, the busy flood \(busySent) on \(busySessions); "
                        + "SIGTERM during both: \(HelperProcess.describe(status)) after \(Report.format(stopSeconds, decimals: 2)) s")
        } catch {
            failure = error
        }
        try helper.finish(after: failure, report: report)
    }

    private func window(_ good: GoodClient, helper: HelperProcess) throws(SecmodError) -> HostileWindow {
        let rss = PeakResidentSampler(pid: helper.pid)
        let result: LoadResult
        do throws(SecmodError) {
            result = try LoadRunner.run(threads: 1, warmupSeconds: options.warmupSeconds, seconds: options.seconds,
                                        recordLatency: true, name: "good", makeOperation: good.makeOperation)
        } catch {
            _ = rss.stop()
            throw error
        }
        return HostileWindow(result: result, peakResidentKiB: rss.stop())
    }
}

/// A good client's window: its latencies and the helper's peak RSS meanwhile.
struct HostileWindow {
    let result: LoadResult
    let peakResidentKiB: Int

    func print(_ name: String, report: Report, idle: HostileWindow?) {
        let p50 = result.latency.percentileMicroseconds(50), p99 = result.latency.percentileMicroseconds(99)
        report.figure(name + ".p50", p50)
        report.figure(name + ".p99", p99)
        report.figure(name + ".rss_mib", Double(peakResidentKiB) / 1024, decimals: 1)
        if let idle {
            let base = idle.result.latency.percentileMicroseconds(99)
            report.figure(name + ".p99_ratio", base > 0 ? p99 / base : 0, decimals: 2)
        }
        report.note("  \(name): \(result.operations) good requests")
    }
}

/// What needs the helper's keys: the good client's operation and the flood's request.
struct GoodClient: Sendable {
    let makeOperation: @Sendable (Int) throws(SecmodError) -> Operation
    let floodRequest: [UInt8]
}

/// One helper under attack: how to start it, the good client, the flood's request.
struct HostileTarget: Sendable {
    let program: String
    let section: String
    let config: String
    let initType: UInt16
    let syncedType: UInt16
    let prepare: @Sendable (HelperEndpoint) throws(SecmodError) -> GoodClient

    /// The flood sends large SIGN requests (60 KB purposes): the most one request may make
    /// the helper hold.
    static let eddsa = HostileTarget(
        program: EddsaHelperRun.program, section: EddsaHelperRun.section, config: EddsaHelperRun.config,
        initType: EddsaMessageType.initialize, syncedType: EddsaMessageType.synced,
        prepare: { endpoint in
            let large = EddsaSignRequest.purposeBytes(purpose: EddsaWorkloads.purpose, body: randomBytes(60_000))
            return GoodClient(makeOperation: EddsaWorkloads.helperSigning(endpoint: endpoint, verify: false),
                              floodRequest: EddsaSignRequest.encode(purposeBytes: large))
        })

    /// The flood sends the largest batches of RSA-2048 signatures a message carries: 256
    /// sub-requests do not fit in 65535 bytes, so as many as fit (Taler's client splits the same way).
    static var rsa2048: HostileTarget {
        HostileTarget(
            program: RsaHelperRun.program, section: RsaHelperRun.section,
            config: """
                OVERLAP_DURATION = 5 minutes
                LOOKAHEAD_SIGN = 1 hour
                RSA_ENGINE = openssl

                [coin_hostile]
                CIPHER = RSA
                DURATION_WITHDRAW = 1 day
                RSA_KEYSIZE = 2048

                """,
            initType: RsaMessageType.initialize, syncedType: RsaMessageType.synced,
            prepare: { endpoint throws(SecmodError) in
                let probe = RsaHelperClient(socketPath: endpoint.path, transport: endpoint.transport)
                try probe.connect(timeout: .seconds(120))
                defer { probe.disconnect() }
                guard let key = probe.keys.first(where: { $0.anchor.microseconds <= Clock.wallMicroseconds() }) else {
                    throw SecmodError(.unavailable, "the RSA helper announced no key valid now")
                }
                let modulus = try RsaPublicKey(encoded: key.publicKey).modulus
                let blinded = RsaWorkloads.blindedMessage(modulus: modulus)
                let perItem = RsaSignRequest.headerByteCount + blinded.count
                let fitting = min(RsaBatchSignRequest.maximumBatchSize, (MessageHeader.maximumMessageSize - 1 - 8) / perItem)
                let items = (0..<fitting).map { _ in
                    RsaSignRequest.encode(hash: key.hash, blindedMessage: RsaWorkloads.blindedMessage(modulus: modulus))
                }
                return GoodClient(makeOperation: try RsaWorkloads.helperSigning(endpoint: endpoint, key: key),
                                  floodRequest: RsaBatchSignRequest.encode(items))
            })
    }
}
