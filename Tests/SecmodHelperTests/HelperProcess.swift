import Foundation
import SecmodClient
import SecmodWire
import SecmodSystem
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A real helper process on a private directory: its own keys, socket and log file.
/// Tests talk to it only through sockets and files, as the exchange would.
final class HelperProcess {
    let root: String
    let configPath: String
    let logPath: String
    private(set) var process: ChildProcess?
    private let extraConfig: String

    /// The built executables sit next to the test bundle in `.build/<config>/`.
    static let binDirectory: String = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        // On Linux the test runner is `<bin>/swift-secmodPackageTests.xctest` itself.
        if dir.lastPathComponent.hasSuffix(".xctest") { dir = dir.deletingLastPathComponent() }
        return dir.path
    }()

    static func binary(_ name: String) -> String { binDirectory + "/" + name }

    /// CI runs as root, which the helpers refuse without `--allow-root`.
    static let rootFlag: [String] = geteuid() == 0 ? ["--allow-root"] : []

    /// Which helper a test runs, and how its configuration and files are named.
    enum Kind {
        case eddsa
        /// Denominations: section name, DURATION_WITHDRAW and RSA_KEYSIZE.
        case rsa(denominations: [(section: String, duration: String, bits: Int)])
        /// Denominations: section name and DURATION_WITHDRAW.
        case cs(denominations: [(section: String, duration: String)])

        var program: String {
            switch self {
            case .eddsa: "taler-exchange-secmod-eddsa"
            case .rsa: "taler-exchange-secmod-rsa"
            case .cs: "taler-exchange-secmod-cs"
            }
        }

        var directoryName: String {
            switch self {
            case .eddsa: "exchange-secmod-eddsa"
            case .rsa: "exchange-secmod-rsa"
            case .cs: "exchange-secmod-cs"
            }
        }
    }

    let kind: Kind
    let transport: HelperTransport
    /// The SoftHSM token the helper keeps its keys in, if it does.
    let token: SoftHSMToken?

    /// Where a test's helper keeps its keys.
    enum KeyStore {
        case file
        /// A SoftHSM token of its own; `moduleKey`: the security module key too.
        case softHSM(moduleKey: Bool)
        /// A SoftHSM token is configured, but new keys (and the module key) are made in
        /// files: the starting point of `secmod keys import`.
        case filesWithToken

        var isFile: Bool { if case .file = self { true } else { false } }
    }

    /// `SECMOD_TEST_KEY_STORE=pkcs11` (contrib/test.sh's second pass): the helper tests that
    /// do not look at key files run once more with every helper's keys in SoftHSM.
    static let defaultKeyStore: KeyStore =
        ProcessInfo.processInfo.environment["SECMOD_TEST_KEY_STORE"] == "pkcs11" ? .softHSM(moduleKey: false) : .file

    init(_ kind: Kind = .eddsa, transport: HelperTransport = .datagram, config extra: String = "", duration: String = "1 minute",
         overlap: String = "1 s", lookahead: String = "5 minutes", keyStore: KeyStore = HelperProcess.defaultKeyStore) throws {
        self.kind = kind
        self.transport = transport
        root = FileManager.default.temporaryDirectory.path + "/secmod-test-" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
        try FileManager.default.createDirectory(atPath: root + "/run", withIntermediateDirectories: true)
        configPath = root + "/helper.conf"
        logPath = root + "/helper.log"
        var extra = extra
        switch keyStore {
        case let .softHSM(moduleKey):
            let token = try SoftHSMToken(directory: root + "/token")
            extra = token.configuration(moduleKey: moduleKey) + "\n" + extra
            self.token = token
        case .filesWithToken:
            let token = try SoftHSMToken(directory: root + "/token")
            extra = token.configuration(keys: false) + "\n" + extra
            self.token = token
        case .file:
            token = nil
        }
        extraConfig = extra
        var text = """
            [PATHS]
            TALER_TEST_HOME = \(root)/home/
            TALER_RUNTIME_DIR = \(root)/run/
            [\(kind.program)]
            OVERLAP_DURATION = \(overlap)
            LOOKAHEAD_SIGN = \(lookahead)
            SOCKET_TYPE = \(transport.rawValue)
            \(extra)

            """
        switch kind {
        case .eddsa:
            text += "[taler-exchange-secmod-eddsa]\nDURATION = \(duration)\n"
        case let .rsa(denominations):
            for d in denominations {
                text += "[\(d.section)]\nCIPHER = RSA\nDURATION_WITHDRAW = \(d.duration)\nRSA_KEYSIZE = \(d.bits)\n"
            }
        case let .cs(denominations):
            for d in denominations {
                text += "[\(d.section)]\nCIPHER = CS\nDURATION_WITHDRAW = \(d.duration)\n"
            }
        }
        try text.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    deinit {
        if let process, process.isRunning { process.signal(SIGTERM); process.wait() }
        try? FileManager.default.removeItem(atPath: root)
    }

    var socketPath: String { root + "/run/\(kind.directoryName)/server.sock" }
    var keyDirectory: String { root + "/home/taler/\(kind.directoryName)/keys" }
    var securityModuleKeyPath: String { root + "/home/taler/\(kind.directoryName)/secmod-private-key" }
    var auditDirectory: String { root + "/home/taler/\(kind.directoryName)/audit" }

    /// Starts the helper and waits until its socket answers a handshake.
    /// `user`: run the helper as that test account (its directory is handed over first).
    /// `environment`: added to the test's own (LD_PRELOAD fault injection).
    /// `wrapper`: a command that execs the helper in place, e.g. `unshare --net` (a network
    /// namespace, as `PrivateNetwork=yes`) or `prlimit --nofile=N:N --`.
    func start(arguments: [String] = [], waitForKeys: Bool = true, as user: TestUsers.Account? = nil,
               environment: [String: String] = [:], wrapper: [String] = []) throws {
        let options = ["-c", configPath, "-L", "INFO", "-l", logPath] + arguments
        let tool: String, full: [String]
        if let user {
            try TestUsers.handOver(root, to: user)
            (tool, full) = TestUsers.command(as: user, Self.binary(kind.program), options)
        } else if let first = wrapper.first {
            (tool, full) = (first, wrapper.dropFirst() + [Self.binary(kind.program)] + options + Self.rootFlag)
        } else {
            (tool, full) = (Self.binary(kind.program), options + Self.rootFlag)
        }
        let p = try ChildProcess.spawn(tool, arguments: full, overriding: environment.merging(token?.environment ?? [:]) { mine, _ in mine },
                                       discardOutput: true)
        process = p
        guard waitForKeys else { return }
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let status = p.poll() { throw HelperTestError("helper exited with \(ChildProcess.describe(status)): \(log)") }
            if FileManager.default.fileExists(atPath: socketPath), hasKeys() { return }
            usleep(20_000)
        }
        throw HelperTestError("helper did not come up: \(log)")
    }

    /// Sends SIGTERM and returns the exit status.
    @discardableResult
    func stop() -> Int32 {
        guard let p = process else { return -1 }
        p.signal(SIGTERM)
        let status = p.wait()
        process = nil
        return ChildProcess.exitCode(status)
    }

    /// Runs the helper to completion (for start-up errors) and returns its status.
    func runExpectingExit(arguments: [String] = [], timeout: Double = 20, allowRoot: Bool = true) throws -> Int32 {
        // -h and -v print to stdout: discarded.
        let p = try ChildProcess.spawn(Self.binary(kind.program), arguments: ["-c", configPath, "-l", logPath]
                                       + (allowRoot ? Self.rootFlag : []) + arguments, overriding: token?.environment ?? [:],
                                       discardOutput: true)
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(10_000) }
        if p.isRunning { p.signal(SIGTERM); p.wait(); throw HelperTestError("helper kept running") }
        return ChildProcess.exitCode(p.wait())
    }

    var pid: Int32 { process?.pid ?? -1 }
    var isRunning: Bool { process?.isRunning ?? false }
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// True once a client gets a non-empty key set.
    private func hasKeys() -> Bool {
        switch kind {
        case .eddsa:
            let probe = EddsaHelperClient(socketPath: socketPath, transport: transport)
            return (try? probe.connect(timeout: .seconds(2))) != nil && !probe.keys.isEmpty
        case .rsa:
            let probe = RsaHelperClient(socketPath: socketPath, transport: transport)
            return (try? probe.connect(timeout: .seconds(2))) != nil && !probe.keys.isEmpty
        case .cs:
            let probe = CsHelperClient(socketPath: socketPath, transport: transport)
            return (try? probe.connect(timeout: .seconds(2))) != nil && !probe.keys.isEmpty
        }
    }

    func csClient(wire: CsWireVersion = .current) throws -> CsHelperClient {
        let c = CsHelperClient(socketPath: socketPath, transport: transport, wire: wire)
        try c.connect(timeout: .seconds(30))
        return c
    }

    func rsaClient() throws -> RsaHelperClient {
        let c = RsaHelperClient(socketPath: socketPath, transport: transport)
        try c.connect(timeout: .seconds(30))
        return c
    }

    func client() throws -> EddsaHelperClient {
        let c = EddsaHelperClient(socketPath: socketPath, transport: transport)
        try c.connect(timeout: .seconds(10))
        return c
    }

    /// Waits until the log contains `text`.
    func waitForLog(_ text: String, seconds: Double = 10) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if log.contains(text) { return true }
            usleep(20_000)
        }
        return false
    }
}

struct HelperTestError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// A deliberately low-level client of the datagram transport (version 2): speaks raw
/// packets so tests can send what no well-behaved client would, and see every byte the
/// helper sends.
final class RawClient: @unchecked Sendable {  // one thread sends while another reads, as a test needs
    /// Our end of the session's socket pair, once handshaken.
    private(set) var session: SocketHandle?

    init() throws {}

    /// INIT carrying one end of a fresh SOCK_SEQPACKET pair; collects the dump through SYNCED.
    func handshake(socketPath: String, initType: UInt16 = 14, syncedType: UInt16 = 19) throws -> [[UInt8]] {
        let pair = try UnixSocket.pair(.seqpacket)
        try pair.kept.setPassCredentials()
        let initSocket = try UnixSocket(.datagram)
        try initSocket.send([0, 4, 0, UInt8(initType)], to: UnixAddress(path: socketPath), passing: pair.passed)
        session = SocketHandle(pair.kept)
        var messages: [[UInt8]] = []
        while true {
            guard let d = try receive(seconds: 10) else { throw HelperTestError("no dump") }
            guard !d.bytes.isEmpty else { throw HelperTestError("the helper closed the session") }
            messages.append(d.bytes)
            if d.bytes == [0, 4, 0, UInt8(syncedType)] { return messages }
        }
    }

    private var socket: SocketHandle {
        get throws {
            guard let session else { throw HelperTestError("no session: handshake first") }
            return session
        }
    }

    func send(_ bytes: [UInt8]) throws { _ = try socket.socket.send(bytes) }

    /// Closes our end of the session: the helper sees the hang-up.
    func close() { session = nil }

    /// Sends without waiting for buffer space; false when the kernel would block.
    func sendNow(_ bytes: [UInt8]) throws -> Bool { try socket.socket.send(bytes, blocking: false) == .sent }

    /// One datagram to the helper's main socket, from a fresh unbound socket.
    func send(_ bytes: [UInt8], to path: String) throws {
        _ = try UnixSocket(.datagram).send(bytes, to: UnixAddress(path: path))
    }

    /// The next packet on the session; an empty one means end of file (the helper closed
    /// the session). Nil when nothing comes within `seconds`.
    func receive(seconds: Double) throws -> ReceivedDatagram? {
        let socket = try socket
        var polls = PollSet()
        polls.add(socket.socket.rawValue, .readable)
        guard try polls.wait(timeoutMilliseconds: Int32(seconds * 1000)) > 0 else { return nil }
        return try socket.socket.receive(capacity: 70000, blocking: false)
    }
}
