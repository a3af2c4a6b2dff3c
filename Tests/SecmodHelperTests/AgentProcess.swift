import Foundation
import SecmodAgentClient
import SecmodSystem
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A real `secmod-agent` on a private directory: its configuration, keys, audit counters,
/// socket and log. Started with `$NOTIFY_SOCKET`, so that a test waits for its READY=1 (an
/// event), not for time. Tests talk to it only through its socket, with OpenSSH's tools,
/// paramiko or `SSHAgentConnection`.
final class AgentProcess {
    let root: String
    let configPath: String
    let logPath: String
    private(set) var process: ChildProcess?
    let token: SoftHSMToken?

    /// A key section: `[secmod-agent-key-NAME]` with these lines.
    struct Key {
        let name: String
        let lines: String
    }

    init(keys: [Key], config extra: String = "", token: Bool = false) throws {
        root = "/tmp/secmod-agent-test-" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
        try FileManager.default.createDirectory(atPath: root + "/run", withIntermediateDirectories: true)
        chmod(root, 0o755)
        configPath = root + "/agent.conf"
        logPath = root + "/agent.log"
        var tokenLines = ""
        if token {
            let t = try SoftHSMToken(directory: root + "/token")
            tokenLines = "PKCS11_MODULE = \(SoftHSMToken.module)\nPKCS11_TOKEN = \(SoftHSMToken.label)\nPKCS11_PIN_FILE = \(t.pinFile)\n"
            self.token = t
        } else {
            self.token = nil
        }
        var text = """
            [secmod-agent]
            UNIXPATH = \(root)/run/agent.sock
            KEY_DIR = \(root)/keys
            AUDIT_DIR = \(root)/audit
            \(tokenLines)\(extra)

            """
        for key in keys { text += "[secmod-agent-key-\(key.name)]\n\(key.lines)\n\n" }
        try text.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    deinit {
        if let process, process.isRunning { process.signal(SIGTERM); process.wait() }
        try? FileManager.default.removeItem(atPath: root)
    }

    var socketPath: String { root + "/run/agent.sock" }
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
    var pid: Int32 { process?.pid ?? -1 }

    /// Starts the agent (as `user`, if given: the tree is handed over first) and waits for
    /// its READY=1. `environment` is added to the test's own.
    func start(as user: TestUsers.Account? = nil, environment: [String: String] = [:]) throws {
        let notifyPath = root + "/notify.sock"
        let listener = try UnixSocket(.datagram)
        try listener.bind(to: UnixAddress(path: notifyPath))
        chmod(notifyPath, 0o666)
        let options = ["-c", configPath, "-L", "INFO", "-l", logPath]
        let tool: String, full: [String]
        if let user {
            try TestUsers.handOver(root, to: user)
            (tool, full) = TestUsers.command(as: user, HelperProcess.binary("secmod-agent"), options)
        } else {
            (tool, full) = (HelperProcess.binary("secmod-agent"), options + HelperProcess.rootFlag)
        }
        var env = environment.merging(token?.environment ?? [:]) { mine, _ in mine }
        env["NOTIFY_SOCKET"] = notifyPath
        let p = try ChildProcess.spawn(tool, arguments: full, overriding: env, discardOutput: true)
        process = p
        // RSA-4096 keys are made at the first start: allow for it.
        var polls = PollSet()
        polls.add(listener.rawValue, .readable)
        while true {
            guard try polls.wait(timeoutMilliseconds: 60_000) > 0 else { throw HelperTestError("agent sent no READY=1: \(log)") }
            if let message = try listener.receive(capacity: 4096), String(decoding: message.bytes, as: UTF8.self).contains("READY=1") { return }
            if let status = p.poll() { throw HelperTestError("agent exited with \(ChildProcess.describe(status)): \(log)") }
        }
    }

    @discardableResult
    func stop() -> Int32 {
        guard let p = process else { return -1 }
        p.signal(SIGTERM)
        let status = p.wait()
        process = nil
        return ChildProcess.exitCode(status)
    }

    /// Runs the agent to its exit (start-up errors) and returns the status.
    func runExpectingExit() throws -> Int32 {
        let p = try ChildProcess.spawn(HelperProcess.binary("secmod-agent"), arguments: ["-c", configPath, "-l", logPath] + HelperProcess.rootFlag,
                                       overriding: token?.environment ?? [:], discardOutput: true)
        return ChildProcess.exitCode(p.wait())
    }

    func connection() -> SSHAgentConnection { SSHAgentConnection(socketPath: socketPath) }

    /// A tool run with `SSH_AUTH_SOCK` pointing at the agent, as `user` or as the test.
    func run(_ tool: String, _ arguments: [String], as user: TestUsers.Account? = nil, in directory: String? = nil,
             stdin: String? = nil) -> (status: Int32, output: String) {
        let env = ["/usr/bin/env", "SSH_AUTH_SOCK=\(socketPath)", "HOME=\(root)/home", tool] + arguments
        var command = env
        if let user {
            let (tool, arguments) = TestUsers.command(as: user, env[0], Array(env.dropFirst()))
            command = [tool] + arguments
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: command[0])
        p.arguments = Array(command.dropFirst())
        if let directory { p.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        let input = Pipe()
        p.standardInput = input
        do { try p.run() } catch { return (127, "\(error)") }
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try? input.fileHandleForWriting.close()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// A directory `user` owns (for files a tool writes).
    func workDirectory(for user: TestUsers.Account?) throws -> String {
        let path = root + "/work-\(user?.name ?? "root")"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        if let user { chown(path, user.uid, user.gid) }
        return path
    }
}
