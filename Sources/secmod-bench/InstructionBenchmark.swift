import SecmodBase
import SecmodClient
import SecmodSystem

/// Instructions the EdDSA helper executes per request, counted by callgrind: a figure that
/// does not move with this machine's noise, to compare a change's cost.
///
/// The helper runs under `valgrind --tool=callgrind` twice, once for `short` and once for
/// `long` sequential requests of one client; the difference of the two totals divided by
/// the difference of the counts cancels start-up, key creation and shutdown. It includes
/// everything the helper does for a request: the loop, the signature (libsodium), the audit
/// counter, and the system calls' user-space side (not the kernel's).
struct InstructionBenchmark: Benchmark {
    static let name = "instructions"
    static let summary = "instructions per EdDSA request in the helper, by callgrind (needs valgrind)"
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
        let few = try count(requests: Self.short, report: report)
        let many = try count(requests: Self.long, report: report)
        guard many > few else { throw SecmodError(.system, "callgrind counted \(few) then \(many) instructions") }
        report.figure("eddsa.instructions_per_request", Double(many - few) / Double(Self.long - Self.short), decimals: 0)
    }

    /// Total instructions of one helper run serving `requests` sequential signatures.
    private func count(requests: Int, report: Report) throws(SecmodError) -> UInt64 {
        let scratch = try TemporaryDirectory()
        defer { try? scratch.remove() }
        let output = scratch.path + "/callgrind.out"
        let helper = try HelperProcess(program: EddsaHelperRun.program, section: EddsaHelperRun.section,
                                       config: EddsaHelperRun.config, workers: options.helperWorkers, transport: options.transport,
                                       wrapper: [Self.valgrind, "--tool=callgrind", "--callgrind-out-file=" + output,
                                                 "--log-file=" + scratch.path + "/valgrind.log"])
        var failure: SecmodError?
        do throws(SecmodError) {
            try helper.waitUntilServing(timeoutSeconds: 120) { (_: String) throws(SecmodError) in }
            let client = EddsaHelperClient(socketPath: helper.socketPath, transport: options.transport)
            client.verifiesSignatures = false
            try client.connect(timeout: .seconds(120))
            let message = EddsaWorkloads.purposeBytes()
            for _ in 0..<requests { _ = try client.sign(purposeBytes: message, timeout: .seconds(60)) }
            client.disconnect()
        } catch {
            failure = error
        }
        try helper.finish(after: failure, report: report)
        guard let text = ProcFS.read(output),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("summary:") }),
              let total = UInt64(line.dropFirst("summary:".count).trimmingPrefix(" ")) else {
            throw SecmodError(.system, "no callgrind summary in \(output)")
        }
        report.note("  \(requests) requests: \(total) instructions in the helper's life")
        return total
    }
}
