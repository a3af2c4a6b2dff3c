import Foundation
import SecmodSystem
#if canImport(Glibc)
import Glibc
#endif

/// OpenSSH's `sshd` on 127.0.0.1 with a configuration, host key and authorized keys of its
/// own, for logging in through an agent. Started as root (it must switch to the user it
/// logs in); ready when it says "Server listening on" (an event on its stderr, not a
/// sleep). Its files live under /run, since StrictModes refuses a world-writable /tmp above
/// the authorized keys.
final class SSHServer {
    static let sshd = "/usr/sbin/sshd"
    static var available: Bool {
        geteuid() == 0 && FileManager.default.isExecutableFile(atPath: sshd) && FileManager.default.isExecutableFile(atPath: "/usr/bin/ssh")
    }

    let directory: String
    let port: Int
    private let process: ChildProcess
    private let output = Locked<String>("")
    /// Reads sshd's log until sshd (and every connection's child) has closed the pipe.
    private var logReader: OSThread?
    /// SHA256 fingerprint of the host key, as `ssh-keygen -l` prints it.
    let hostKeyFingerprint: String

    init(authorizedKeys: [String]) throws {
        // sshd wants its privilege separation directory; Debian's unit would make it.
        try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)
        chmod("/run/sshd", 0o755)
        directory = "/run/secmod-sshd-" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        chmod(directory, 0o755)
        let made = GnunetReferee.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "test-host", "-f", directory + "/host_ed25519"])
        guard made.status == 0 else { throw HelperTestError("ssh-keygen: \(made.output)") }
        let fingerprint = GnunetReferee.run("/usr/bin/ssh-keygen", ["-l", "-f", directory + "/host_ed25519.pub"]).output
        hostKeyFingerprint = String(fingerprint.split(separator: " ").dropFirst().first ?? "")
        try (authorizedKeys.joined(separator: "\n") + "\n").write(toFile: directory + "/authorized_keys", atomically: true, encoding: .utf8)
        chmod(directory + "/authorized_keys", 0o644)
        var lastError = ""
        for _ in 0..<5 {
            let port = try Self.freePort()
            try """
                ListenAddress 127.0.0.1:\(port)
                HostKey \(directory)/host_ed25519
                PidFile \(directory)/sshd.pid
                AuthorizedKeysFile \(directory)/authorized_keys
                UsePAM no
                PasswordAuthentication no
                KbdInteractiveAuthentication no
                PubkeyAuthentication yes
                PermitRootLogin no
                LogLevel VERBOSE

                """.write(toFile: directory + "/sshd_config", atomically: true, encoding: .utf8)
            // sshd's log through a named pipe: reading it is waiting for its events. (Not
            // Foundation's Process: its reaper blocks in waitpid on a long-running child.)
            let fifo = directory + "/log-\(port).fifo"
            guard mkfifo(fifo, 0o600) == 0 else { throw HelperTestError("mkfifo: \(errno)") }
            let p = try ChildProcess.spawn("/bin/sh", arguments: ["-c", "exec \(Self.sshd) -D -e -f '\(directory)/sshd_config' 2>'\(fifo)' >/dev/null"])
            let reader = LogReader(try FileDescriptor.open(fifo, O_RDONLY))
            var text = ""
            while !text.contains("Server listening on"), let chunk = reader.next() { text += chunk }
            if text.contains("Server listening on") {
                self.port = port
                process = p
                output.withLock { $0 = text }
                let output = self.output
                logReader = try OSThread.start(name: "sshd-log") {
                    while let chunk = reader.next() { output.withLock { $0 += chunk } }
                }
                return
            }
            _ = p.wait()
            lastError = text
            guard text.contains("Address already in use") else { break }
        }
        try? FileManager.default.removeItem(atPath: directory)
        throw HelperTestError("sshd did not start: \(lastError)")
    }

    deinit {
        if process.isRunning { process.signal(SIGTERM); _ = process.wait() }
        logReader?.join()
        try? FileManager.default.removeItem(atPath: directory)
    }

    var log: String { output.withLock { $0 } }

    /// `ssh USER@127.0.0.1 true` as `account`, authenticating only through the agent at
    /// `agentSocket`; the exit status (0: logged in and ran `true`; 255: not let in).
    func login(as account: TestUsers.Account, agentSocket: String) -> (status: Int32, output: String) {
        let (tool, arguments) = TestUsers.command(as: account, "/usr/bin/ssh", [
            "-F", "/dev/null", "-o", "IdentityAgent=\(agentSocket)", "-o", "IdentitiesOnly=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=no", "-o", "BatchMode=yes",
            "-o", "PreferredAuthentications=publickey", "-o", "LogLevel=ERROR", "-p", String(port), "\(account.name)@127.0.0.1", "true",
        ])
        return GnunetReferee.run(tool, arguments)
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago (sshd refuses port 0).
    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HelperTestError("socket: \(errno)") }
        defer { Glibc.close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw HelperTestError("bind: \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// A pipe's read end, read to its end by one thread at a time.
private final class LogReader: @unchecked Sendable {
    private let descriptor: FileDescriptor

    init(_ descriptor: consuming FileDescriptor) { self.descriptor = descriptor }

    /// The next bytes as text; nil at end of file.
    func next() -> String? {
        guard let bytes = try? descriptor.read(upTo: 4096), !bytes.isEmpty else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}
