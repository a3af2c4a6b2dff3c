import SecmodAgentClient
import SecmodBase
import SecmodCrypto
import SecmodSystem
import SecmodWire
#if canImport(Glibc)
import Glibc
#endif

/// `secmod-bench agent`: Ed25519 signatures per second through `secmod-agent` and through
/// OpenSSH's `ssh-agent` holding the same kind of key, with 1 and 8 clients (`--clients`),
/// each client a thread with its own connection signing 64 bytes back to back; and both as
/// ratios of the in-process rate measured in the same run.
///
/// OpenSSH's agent is single-threaded and signs with its own Ed25519 code; ours hands each
/// connection's requests to workers (round robin), so with several clients it uses every
/// core.
struct AgentBenchmark: Benchmark {
    static let name = "agent"
    static let summary = "Ed25519 through secmod-agent vs OpenSSH's ssh-agent, 1 and 8 clients"

    let options: BenchOptions

    init(options: BenchOptions) { self.options = options }

    func run(report: Report) throws(SecmodError) {
        let clients = options.clientCounts == [1, 2, 8] ? [1, 8] : options.clientCounts
        report.note("secmod-bench agent: \(OSThread.availableProcessors) CPUs, windows of \(options.seconds) s, clients \(clients)")
        let key = try Ed25519PrivateKey(seed: Ed25519PrivateKey.generateSeed())
        let interference = Interference(report: report)
        let baseline = InProcessBaseline(key: key, threads: 2)
        let slice = options.inProcessSeconds / Double(clients.count * 2 + 1)

        let directory = try TemporaryDirectory()
        defer { try? directory.remove() }
        let ours = try SecmodAgentRun(directory: directory.path, workers: options.helperWorkers)
        let theirs: OpenSSHAgentRun
        do throws(SecmodError) { theirs = try OpenSSHAgentRun(directory: directory.path) } catch {
            _ = ours.stop()
            throw error
        }
        var failure: SecmodError?
        var rates: [(String, Int, Double)] = []
        do throws(SecmodError) {
            for n in clients {
                for (label, socket) in [("secmod", ours.socketPath), ("openssh", theirs.socketPath)] {
                    try baseline.sample(seconds: slice, interference: interference)
                    let result = try LoadRunner.run(threads: n, warmupSeconds: options.warmupSeconds, seconds: options.seconds,
                                                    recordLatency: true, name: label, makeOperation: Self.signing(socket))
                    rates.append((label, n, result.rate))
                    report.figure("agent.\(label).c\(n)", result.rate, decimals: 0)
                    report.figure("agent.\(label).p50.c\(n)", result.latency.percentileMicroseconds(50), decimals: 0)
                }
            }
            try baseline.sample(seconds: slice, interference: interference)
        } catch {
            failure = error
        }
        let ourStatus = ours.stop()
        theirs.stop()
        if let failure { throw failure }
        guard ourStatus == 0 else { throw SecmodError(.system, "secmod-agent exited with \(ChildProcess.describe(ourStatus)); log:\n\(ours.log)") }
        let inProcess = baseline.rate
        report.figure("agent.inproc.2t", inProcess, decimals: 0)
        for n in clients {
            let mine = rates.first { $0.0 == "secmod" && $0.1 == n }?.2 ?? 0
            let openssh = rates.first { $0.0 == "openssh" && $0.1 == n }?.2 ?? 0
            report.figure("agent.ratio.c\(n)", inProcess > 0 ? mine / inProcess : 0, decimals: 2)
            report.figure("agent.openssh.ratio.c\(n)", inProcess > 0 ? openssh / inProcess : 0, decimals: 2)
            report.figure("agent.vs_openssh.c\(n)", openssh > 0 ? mine / openssh : 0, decimals: 2)
        }
        interference.finish()
    }

    /// One connection per thread, asking for its agent's first key to sign 64 bytes.
    static func signing(_ socket: String) -> @Sendable (Int) throws(SecmodError) -> Operation {
        { index throws(SecmodError) in
            let connection = SSHAgentConnection(socketPath: socket)
            guard let key = try connection.identities(timeout: .seconds(10)).first, case let .ed25519(publicKey)? = key.publicKey else {
                throw SecmodError(.unavailable, "the agent at \(socket) offers no Ed25519 key")
            }
            let data = [UInt8](repeating: UInt8(truncatingIfNeeded: index), count: 64)
            // One signature checked before the window: the figures are of real signatures.
            let first = try connection.sign(keyBlob: key.blob, data: data, timeout: .seconds(10))
            guard Ed25519.verify(signature: first.bytes, message: data, publicKey: publicKey) else {
                throw SecmodError(.crypto, "the agent at \(socket) made a signature that does not verify")
            }
            return { () throws(SecmodError) in
                _ = try connection.sign(keyBlob: key.blob, data: data, timeout: .seconds(10))
            }
        }
    }
}

/// `secmod-agent` (the binary next to this one) with one Ed25519 key of purpose `any`,
/// ready once it sent READY=1.
struct SecmodAgentRun {
    let child: ChildProcess
    let socketPath: String
    let logPath: String

    init(directory: String, workers: Int?) throws(SecmodError) {
        let executable = try HelperProcess.siblingExecutable("secmod-agent")
        socketPath = directory + "/secmod-agent.sock"
        logPath = directory + "/secmod-agent.log"
        let config = directory + "/agent.conf"
        let text = """
            [secmod-agent]
            UNIXPATH = \(socketPath)
            KEY_DIR = \(directory)/agent-keys
            AUDIT_DIR = \(directory)/agent-audit
            \(workers.map { "WORKERS = \($0)" } ?? "")

            [secmod-agent-key-bench]
            ALGORITHM = ed25519
            PURPOSES = any

            """
        do throws(Errno) {
            let fd = try FileDescriptor.open(config, O_WRONLY | O_CREAT | O_EXCL, mode: 0o600)
            try fd.writeAll(Array(text.utf8))
        } catch {
            throw error.error("writing \(config)")
        }
        let notify = directory + "/notify.sock"
        let listener = try UnixSocket(.datagram)
        let address = try UnixAddress(path: notify)
        do throws(Errno) { try listener.bind(to: address) } catch { throw error.error("binding \(notify)") }
        var arguments = ["-c", config, "-l", logPath]
        if geteuid() == 0 { arguments.append("--allow-root") }
        child = try ChildProcess.spawn(executable, arguments: arguments, overriding: ["NOTIFY_SOCKET": notify])
        var polls = PollSet()
        polls.add(listener.rawValue, .readable)
        let ready: Int
        do throws(Errno) { ready = try polls.wait(timeoutMilliseconds: 30_000) } catch { throw error.error("poll") }
        guard ready > 0 else { throw SecmodError(.timeout, "secmod-agent sent no READY=1; log:\n\(ProcFS.read(logPath) ?? "")") }
    }

    var log: String { ProcFS.read(logPath) ?? "(no log)" }

    func stop() -> Int32 {
        child.signal(SIGTERM)
        return child.wait()
    }
}

/// OpenSSH's `ssh-agent -D` holding one Ed25519 key made by `ssh-keygen` and added with
/// `ssh-add`.
struct OpenSSHAgentRun {
    let child: ChildProcess
    let socketPath: String

    init(directory: String) throws(SecmodError) {
        for tool in ["/usr/bin/ssh-agent", "/usr/bin/ssh-keygen", "/usr/bin/ssh-add"] where !FileSystem.isExecutable(tool) {
            throw SecmodError(.unavailable, "\(tool) not found: install openssh-client")
        }
        socketPath = directory + "/openssh-agent.sock"
        let keyPath = directory + "/openssh-ed25519"
        let made = try ChildProcess.spawn("/usr/bin/ssh-keygen", arguments: ["-q", "-t", "ed25519", "-N", "", "-f", keyPath]).wait()
        guard made == 0 else { throw SecmodError(.system, "ssh-keygen exited with \(ChildProcess.describe(made))") }
        child = try ChildProcess.spawn("/usr/bin/ssh-agent", arguments: ["-D", "-a", socketPath], discardOutput: true)
        // ssh-agent says nothing we can wait on without a pipe: ssh-add is retried until the
        // socket accepts it (a few milliseconds).
        let deadline = Clock.monotonicMicroseconds() + 10_000_000
        while true {
            let added = try ChildProcess.spawn("/usr/bin/ssh-add", arguments: ["-q", keyPath], overriding: ["SSH_AUTH_SOCK": socketPath]).wait()
            if added == 0 { return }
            guard Clock.monotonicMicroseconds() < deadline, child.poll() == nil else {
                child.signal(SIGTERM)
                _ = child.wait()
                throw SecmodError(.unavailable, "ssh-add could not add the key to ssh-agent (\(ChildProcess.describe(added)))")
            }
            Clock.sleep(microseconds: 10_000)
        }
    }

    func stop() {
        child.signal(SIGTERM)
        _ = child.wait()
    }
}
