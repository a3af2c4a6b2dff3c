import SecmodBase
import SecmodClient
import SecmodCrypto
import SecmodSystem
#if canImport(Glibc)
import Glibc
#endif

/// Instructions the EdDSA helper executes per request, and the Clause-Schnorr helper per
/// item of a batch of 256, counted by callgrind: figures that do not move with this
/// machine's noise, to compare a change's cost.
///
/// The helper runs under `valgrind --tool=callgrind` twice, once for `short` and once for
/// `long` sequential requests of one client; the difference of the two totals divided by
/// the difference of the counts cancels start-up, key creation and shutdown. It includes
/// everything the helper does for a request: the loop, the signature (libsodium), the audit
/// counter, and the system calls' user-space side (not the kernel's).
struct InstructionBenchmark: Benchmark {
    static let name = "instructions"
    static let summary = "instructions per EdDSA request and per CS batch item in the helpers, by callgrind (needs valgrind)"
    static let valgrind = "/usr/bin/valgrind"
    static let short = 500
    static let long = 2500

    let options: BenchOptions

    init(options: BenchOptions) { self.options = options }

    func run(report: Report) throws(SecmodError) {
        guard FileSystem.isExecutable(Self.valgrind) else {
            throw SecmodError(.unavailable, "\(Self.valgrind) not found: apt-get install valgrind")
        }
        report.note("secmod-bench instructions: \(options.transport.rawValue) transport, \(Self.short) and \(Self.long) requests under callgrind")
        let eddsa = { (requests: Int) throws(SecmodError) -> UInt64 in
            try count(program: EddsaHelperRun.program, section: EddsaHelperRun.section, config: EddsaHelperRun.config,
                      what: "\(requests) requests", report: report) { (path: String) throws(SecmodError) in
                let client = EddsaHelperClient(socketPath: path, transport: options.transport)
                client.verifiesSignatures = false
                try client.connect(timeout: .seconds(120))
                let message = EddsaWorkloads.purposeBytes()
                for _ in 0..<requests { _ = try client.sign(purposeBytes: message, timeout: .seconds(60)) }
                client.disconnect()
            }
        }
        report.figure("eddsa.instructions_per_request",
                      try Self.perUnit(short: Self.short, long: Self.long, unitsPerStep: 1, run: eddsa), decimals: 0)

        // Clause-Schnorr: batches of 256 signatures, R derived beforehand as in `secmod-bench cs`.
        let cs = { (batches: Int) throws(SecmodError) -> UInt64 in
            try count(program: CsBenchmark.program, section: CsBenchmark.section, config: CsBenchmark.config,
                      what: "\(batches) batches of 256", report: report) { (path: String) throws(SecmodError) in
                let client = CsHelperClient(socketPath: path, transport: options.transport)
                client.verifiesSignatures = false
                try client.connect(timeout: .seconds(120))
                let now = Timestamp(microseconds: Clock.wallMicroseconds())
                guard let key = client.keys.first(where: { $0.anchor <= now }) else {
                    throw SecmodError(.unavailable, "the CS helper announced no valid key")
                }
                let nonces = (0..<256).map { _ in randomBytes(32) }
                let rs = try client.batchDerive(nonces.map { (key.hash, $0, false) }, timeout: .seconds(120))
                var items: [CsSignItem] = []
                for (nonce, r) in zip(nonces, rs) {
                    items.append(CsSignItem(hash: key.hash, nonce: nonce, challenges: randomBytes(64), publicNonces: try r.get()))
                }
                for _ in 0..<batches {
                    for result in try client.batchSign(items, timeout: .seconds(120)) {
                        if case let .failure(error) = result { throw error }
                    }
                }
                client.disconnect()
            }
        }
        report.figure("cs.instructions_per_batch_item",
                      try Self.perUnit(short: Self.shortBatches, long: Self.longBatches, unitsPerStep: 256, run: cs), decimals: 0)
    }

    /// Runs the helper twice, for `short` and `long` steps of work, and divides the difference
    /// by the units of work between them: start-up and shutdown cancel out.
    private static func perUnit(short: Int, long: Int, unitsPerStep: Int,
                                run: (Int) throws(SecmodError) -> UInt64) throws(SecmodError) -> Double {
        let few = try run(short)
        let many = try run(long)
        guard many > few else { throw SecmodError(.system, "callgrind counted \(few) then \(many) instructions") }
        return Double(many - few) / Double(unitsPerStep * (long - short))
    }

    static let shortBatches = 4
    static let longBatches = 20

    /// Total instructions of one helper run serving `workload` (given the socket's path).
    private func count(program: String, section: String, config: String, what: String, report: Report,
                       workload: (String) throws(SecmodError) -> Void) throws(SecmodError) -> UInt64 {
        let scratch = try TemporaryDirectory()
        defer { try? scratch.remove() }
        let output = scratch.path + "/callgrind.out"
        let helper = try HelperProcess(program: program, section: section,
                                       config: config, workers: options.helperWorkers, transport: options.transport,
                                       wrapper: [Self.valgrind, "--tool=callgrind", "--callgrind-out-file=" + output,
                                                 "--log-file=" + scratch.path + "/valgrind.log"])
        var failure: SecmodError?
        do throws(SecmodError) {
            try helper.waitUntilServing(timeoutSeconds: 120) { (_: String) throws(SecmodError) in }
            try workload(helper.socketPath)
        } catch {
            failure = error
        }
        try helper.finish(after: failure, report: report)
        guard let text = ProcFS.read(output),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("summary:") }),
              let total = UInt64(line.dropFirst("summary:".count).trimmingPrefix(" ")) else {
            throw SecmodError(.system, "no callgrind summary in \(output)")
        }
        report.note("  \(what): \(total) instructions in the helper's life")
        // SECMOD_BENCH_KEEP_CALLGRIND=DIR keeps the profile for callgrind_annotate (same file system).
        if let keep = getenv("SECMOD_BENCH_KEEP_CALLGRIND") {
            _ = rename(output, String(cString: keep) + "/" + program + "-" + what.split(separator: " ").joined(separator: "-") + ".callgrind")
        }
        return total
    }
}
