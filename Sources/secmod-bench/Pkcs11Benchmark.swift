import SecmodBase
import SecmodClient
import SecmodCrypto
import SecmodKeys
import SecmodPkcs11
import SecmodSystem
#if canImport(Glibc)
import Glibc
#endif

/// `secmod-bench pkcs11`: the helpers with `KEY_STORE = pkcs11` on a SoftHSMv2 token made
/// for the run, against the same token's rate in this process.
///
/// The limit is signing through our PKCS#11 store in this process on two threads, each on
/// its own session, with the software check of every signature the helper also makes. The
/// token does the work (SoftHSM signs Ed25519 about 18× slower than libsodium here), so the
/// helper's own overhead should matter less than with keys in files.
struct Pkcs11Benchmark: Benchmark {
    static let name = "pkcs11"
    static let summary = "EdDSA and RSA-2048 through a SoftHSM token: in-process vs the helpers with KEY_STORE = pkcs11"
    static let module = "/usr/lib/softhsm/libsofthsm2.so"
    static let label = "secmod-bench"
    static let pin = "20261206"

    let options: BenchOptions

    init(options: BenchOptions) { self.options = options }

    func run(report: Report) throws(SecmodError) {
        guard FileSystem.exists(Self.module), FileSystem.isExecutable("/usr/bin/softhsm2-util") else {
            throw SecmodError(.unavailable, "\(Self.module) not found: apt-get install softhsm2")
        }
        let scratch = try TemporaryDirectory()
        defer { try? scratch.remove() }
        let pinFile = try makeToken(in: scratch.path)
        report.note("secmod-bench pkcs11: SoftHSM token '\(Self.label)' in \(scratch.path), helper windows of \(options.seconds) s")

        var pin = SecureBytes(count: Self.pin.utf8.count)
        pin.withUnsafeMutableBytes { $0.copyBytes(from: Array(Self.pin.utf8)) }
        let token = Pkcs11Token(module: try Pkcs11Module.open(path: Self.module), label: Self.label, pin: pin) { _, message in
            report.error(message)
        }
        try token.connect()
        let store = TokenKeyStore(token: token, storeID: randomBytes(TokenKeyStore.storeIDByteCount))
        let keys = KeyDirectory(path: scratch.path + "/inprocess")
        try keys.create()

        // EdDSA.
        guard case let .ed25519(edKey) = try store.create(.ed25519, at: KeyLocation(directory: keys, anchor: Timestamp(seconds: 1), label: "bench/ed25519"),
                                                          replacing: false).0 else { throw SecmodError(.crypto, "not an Ed25519 key") }
        let message = EddsaWorkloads.purposeBytes()
        let interference = Interference(report: report)
        // The in-process rate is sampled in slices between the helper's windows, as for
        // `eddsa` and `rsa`: this machine's speed drifts within seconds.
        let edLimit = SlicedBaseline(threads: 2, name: "pkcs11 eddsa in-process", helperPID: nil) { (_: Int) -> Operation in
            { () throws(SecmodError) in _ = try edKey.sign(message) }
        }
        let edRates = try measureHelper(program: "taler-exchange-secmod-eddsa", baseline: edLimit, interference: interference, config: """
            DURATION = 1 day
            OVERLAP_DURATION = 5 minutes
            LOOKAHEAD_SIGN = 2 days

            """, pinFile: pinFile, report: report) { (endpoint: HelperEndpoint) throws(SecmodError) in
            EddsaWorkloads.helperSigning(endpoint: HelperEndpoint(path: endpoint.path, transport: endpoint.transport), verify: false)
        }
        report.figure("pkcs11.eddsa.limit.2t", edLimit.rate, decimals: 0)
        for (clients, rate) in edRates {
            report.figure("pkcs11.eddsa.helper.c\(clients)", rate, decimals: 0)
            report.figure("pkcs11.eddsa.ratio.c\(clients)", rate / edLimit.rate, decimals: 2)
        }

        // RSA-2048.
        guard case let .rsa(rsaKey) = try store.create(.rsa(bits: 2048), at: KeyLocation(directory: keys, anchor: Timestamp(seconds: 2), label: "bench/rsa"),
                                                       replacing: false).0 else { throw SecmodError(.crypto, "not an RSA key") }
        let rsaLimit = SlicedBaseline(threads: 2, name: "pkcs11 rsa2048 in-process", helperPID: nil,
                                      makeOperation: RsaWorkloads.inProcessSigning(key: rsaKey))
        let rsaRates = try measureHelper(program: "taler-exchange-secmod-rsa", baseline: rsaLimit, interference: interference, config: """
            OVERLAP_DURATION = 5 minutes
            LOOKAHEAD_SIGN = 2 days
            [coin_bench]
            CIPHER = RSA
            DURATION_WITHDRAW = 1 day
            RSA_KEYSIZE = 2048

            """, pinFile: pinFile, report: report) { (endpoint: HelperEndpoint) throws(SecmodError) in
            let probe = RsaHelperClient(socketPath: endpoint.path, transport: endpoint.transport)
            try probe.connect(timeout: .seconds(60))
            let now = Timestamp(microseconds: Clock.wallMicroseconds())
            guard let key = probe.keys.first(where: { $0.anchor <= now }) else { throw SecmodError(.unavailable, "no valid RSA key") }
            probe.disconnect()
            return try RsaWorkloads.helperSigning(endpoint: endpoint, key: key)
        }
        report.figure("pkcs11.rsa2048.limit.2t", rsaLimit.rate, decimals: 0)
        for (clients, rate) in rsaRates {
            report.figure("pkcs11.rsa2048.helper.c\(clients)", rate, decimals: 0)
            report.figure("pkcs11.rsa2048.ratio.c\(clients)", rate / rsaLimit.rate, decimals: 2)
        }
        interference.finish()
    }

    /// A token initialised in `directory`, reached by this process and its children through
    /// `SOFTHSM2_CONF`; returns the PIN file's path.
    private func makeToken(in directory: String) throws(SecmodError) -> String {
        let conf = directory + "/softhsm2.conf"
        try FileSystem.createDirectories(directory + "/tokens", mode: 0o700)
        do throws(Errno) {
            let fd = try FileDescriptor.open(conf, O_WRONLY | O_CREAT | O_EXCL, mode: 0o600)
            try fd.writeAll(Array("directories.tokendir = \(directory)/tokens\nobjectstore.backend = file\nlog.level = ERROR\n".utf8))
            let pinFile = directory + "/pin"
            let pin = try FileDescriptor.open(pinFile, O_WRONLY | O_CREAT | O_EXCL, mode: 0o400)
            try pin.writeAll(Array((Self.pin + "\n").utf8))
        } catch {
            throw error.error("writing the token's files in \(directory)")
        }
        setenv("SOFTHSM2_CONF", conf, 1)
        let made = try ChildProcess.spawn("/usr/bin/softhsm2-util", arguments: [
            "--init-token", "--free", "--label", Self.label, "--pin", Self.pin, "--so-pin", "0000" + Self.pin,
        ], discardOutput: true)
        guard ChildProcess.exitCode(made.wait()) == 0 else { throw SecmodError(.system, "softhsm2-util --init-token failed") }
        return directory + "/pin"
    }

    /// The helper on the token at 1 and 8 clients, with a slice of `baseline` before each
    /// and one after the last; returns (clients, rate).
    private func measureHelper(program: String, baseline: SlicedBaseline, interference: Interference, config: String,
                               pinFile: String, report: Report,
                               operation: (HelperEndpoint) throws(SecmodError) -> @Sendable (Int) throws(SecmodError) -> Operation)
        throws(SecmodError) -> [(Int, Double)] {
        let section = program
        let helper = try HelperProcess(program: program, section: section, config: """
            KEY_STORE = pkcs11
            PKCS11_MODULE = \(Self.module)
            PKCS11_TOKEN = \(Self.label)
            PKCS11_PIN_FILE = \(pinFile)
            """ + "\n" + config, workers: options.helperWorkers, transport: options.transport)
        var rates: [(Int, Double)] = []
        var failure: SecmodError?
        do throws(SecmodError) {
            try helper.waitUntilServing(timeoutSeconds: 120) { (_: String) throws(SecmodError) in }
            let makeOperation = try operation(helper.endpoint)
            let slice = options.inProcessSeconds / 3
            let family = program.hasSuffix("rsa") ? "rsa2048" : "eddsa"
            for clients in [1, 8] {
                try baseline.sample(seconds: slice, interference: interference)
                let sampler = CostSampler(helperPID: helper.pid)
                let result = try LoadRunner.run(threads: clients, warmupSeconds: options.warmupSeconds, seconds: options.seconds,
                                                recordLatency: true, name: "client", observer: sampler, makeOperation: makeOperation)
                interference.record(sampler, window: "pkcs11.\(family).helper.c\(clients)")
                rates.append((clients, result.rate))
                if let costs = sampler.costs(operations: result.operations) {
                    // Where the CPU goes per signature: the helper's (token library included)
                    // against the clients'.
                    report.figure("pkcs11.\(family).cpu.helper.c\(clients)", costs.helperMicroseconds)
                    report.figure("pkcs11.\(family).cpu.client.c\(clients)", costs.clientMicroseconds)
                    report.note("  loop \(Report.format(costs.loopMicroseconds, decimals: 1)) µs, workers and the token \(Report.format(costs.workerMicroseconds, decimals: 1)) µs, helper kernel \(Report.format(costs.helperSystemMicroseconds, decimals: 1)) µs per signature; sleeps \(Report.format(costs.helperSleeps, decimals: 2))")
                    for line in costs.threadLines { report.note(line) }
                }
                report.figure("pkcs11.\(family).p50.c\(clients)", result.latency.percentileMicroseconds(50))
            }
            try baseline.sample(seconds: slice, interference: interference)
        } catch {
            failure = error
        }
        try helper.finish(after: failure, report: report)
        return rates
    }
}
