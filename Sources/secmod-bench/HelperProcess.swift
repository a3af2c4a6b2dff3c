import SecmodBase
import SecmodClient
import SecmodSystem
#if canImport(Glibc)
import Glibc
#endif

/// A real helper executable started for the benchmark, in its own temporary directory, and
/// stopped with SIGTERM as systemd would stop it.
///
/// The helper is the installed binary, not an in-process engine: the figures must include
/// its process boundary, its sockets and its thread hand-offs exactly as an exchange sees them.
final class HelperProcess {
    let executable: String
    private let child: ChildProcess
    var pid: pid_t { child.pid }
    let directory: TemporaryDirectory
    let socketPath: String
    /// The transport the helper serves and the clients speak (`--transport`).
    let transport: HelperTransport
    var endpoint: HelperEndpoint { HelperEndpoint(path: socketPath, transport: transport) }
    let logPath: String

    /// Starts `program` (found next to this executable) with `config` written into a fresh
    /// temporary directory. `TALER_TEST_HOME` and `TMPDIR` point there, so every default
    /// path (keys, security-module key) lands inside it. `wrapper`: a command that runs the
    /// helper (valgrind, for the instruction count), given the helper's path and arguments.
    init(program: String, section: String, config: String, workers: Int?, transport: HelperTransport,
         wrapper: [String] = []) throws(SecmodError) {
        self.transport = transport
        executable = try Self.siblingExecutable(program)
        directory = try TemporaryDirectory()
        let dir = directory.path
        socketPath = dir + "/helper.sock"
        logPath = dir + "/helper.log"
        let configPath = dir + "/bench.conf"
        let text = "[\(section)]\nUNIXPATH = \(socketPath)\nSOCKET_TYPE = \(transport.rawValue)\n" + config
        do throws(Errno) {
            let fd = try FileDescriptor.open(configPath, O_WRONLY | O_CREAT | O_EXCL, mode: 0o600)
            try fd.writeAll(Array(text.utf8))
        } catch {
            try? directory.remove()
            throw error.error("writing \(configPath)")
        }
        var arguments = ["-c", configPath, "-L", "INFO", "-l", logPath]
        // The bench runs the helper as whoever runs the bench; on a test box that is often root.
        if geteuid() == 0 { arguments.append("--allow-root") }
        if let workers { arguments += ["-w", String(workers)] }
        do throws(SecmodError) {
            let environment = ["TALER_TEST_HOME": dir + "/", "TMPDIR": dir]
            if let tool = wrapper.first {
                child = try ChildProcess.spawn(tool, arguments: wrapper.dropFirst() + [executable] + arguments, overriding: environment)
            } else {
                child = try ChildProcess.spawn(executable, arguments: arguments, overriding: environment)
            }
        } catch {
            try? directory.remove()
            throw error
        }
    }

    /// Waits until the socket exists and a client completes the handshake (keys created,
    /// SYNCED received). Fails early if the helper exits.
    func waitUntilServing(timeoutSeconds: Double, probe: (String) throws(SecmodError) -> Void) throws(SecmodError) {
        let deadline = Clock.monotonicMicroseconds() + UInt64(timeoutSeconds * 1e6)
        while !FileSystem.exists(socketPath) {
            if let status = child.poll() { throw SecmodError(.unavailable, "\(executable) exited with \(Self.describe(status)) before serving; log:\n\(log())") }
            if Clock.monotonicMicroseconds() > deadline { throw SecmodError(.timeout, "\(socketPath) did not appear; log:\n\(log())") }
            Clock.sleep(microseconds: 10_000)
        }
        try probe(socketPath)
    }

    /// SIGTERM, then waits up to 10 s (SIGKILL after that). Returns the raw wait status.
    func stop() -> Int32 {
        child.signal(SIGTERM)
        let deadline = Clock.monotonicMicroseconds() + 10_000_000
        while Clock.monotonicMicroseconds() < deadline {
            if let status = child.poll() { return status }
            Clock.sleep(microseconds: 5_000)
        }
        child.signal(SIGKILL)
        return child.wait()
    }

    func log() -> String { ProcFS.read(logPath) ?? "(no log)" }

    static func describe(_ status: Int32) -> String { ChildProcess.describe(status) }

    static func exitedCleanly(_ status: Int32) -> Bool { status == 0 }

    /// `program` in the directory of /proc/self/exe: `swift build` puts all products together.
    static func siblingExecutable(_ program: String) throws(SecmodError) -> String {
        guard let own = FileSystem.canonicalPath("/proc/self/exe") else { throw Errno.current.error("realpath /proc/self/exe") }
        let path = FileSystem.directoryName(of: own) + "/" + program
        guard FileSystem.isExecutable(path) else {
            throw SecmodError(.unavailable, "\(path) not found; build it first (swift build -c release --static-swift-stdlib --product \(program))")
        }
        return path
    }
}

/// Where and how clients reach a benchmarked helper.
struct HelperEndpoint: Sendable {
    let path: String
    let transport: HelperTransport
}

extension HelperProcess {
    /// Stops the helper with SIGTERM, requires exit status 0, removes its directory, and
    /// rethrows the measurement's own failure first if there was one.
    func finish(after failure: SecmodError?, report: Report) throws(SecmodError) {
        let status = stop()
        report.note("helper stopped with SIGTERM: \(HelperProcess.describe(status))")
        var failure = failure
        if failure == nil, !HelperProcess.exitedCleanly(status) {
            failure = SecmodError(.system, "the helper exited with \(HelperProcess.describe(status)), not 0; log:\n\(log())")
        }
        do throws(SecmodError) { try directory.remove() } catch {
            report.error("could not remove \(directory.path): \(error)")
        }
        if let failure { throw failure }
    }
}
