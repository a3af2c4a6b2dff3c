import Foundation
import SecmodCrypto
import SecmodOffline
import SecmodSystem
import SecmodTestVectors
import SecmodWire
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A scratch directory with an offline configuration, and the `secmod` binary run on it.
final class OfflineWorkspace {
    let root: String
    var configPath: String { root + "/offline.conf" }
    var masterKeyPath: String { root + "/offline/master.priv" }
    var pinPath: String { root + "/offline/secm_tofus.pub" }

    init(extraConfig: String = "", masterSeed: [UInt8]? = (0..<32).map { UInt8($0) }) throws {
        root = FileManager.default.temporaryDirectory.path + "/secmod-offline-" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
        try FileManager.default.createDirectory(atPath: root + "/offline", withIntermediateDirectories: true)
        try writeConfig(extraConfig)
        if let masterSeed {
            _ = FileManager.default.createFile(atPath: masterKeyPath, contents: Data(masterSeed), attributes: [.posixPermissions: 0o400])
        }
    }

    deinit {
        _ = try? FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: root + "/offline")
        try? FileManager.default.removeItem(atPath: root)
    }

    func writeConfig(_ extra: String) throws {
        let text = """
            [PATHS]
            TALER_TEST_HOME = \(root)/home/
            [taler]
            CURRENCY = KUDOS
            [exchange-offline]
            MASTER_PRIV_FILE = \(masterKeyPath)
            SECM_TOFU_FILE = \(pinPath)
            \(extra)

            """
        try text.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    func write(_ name: String, _ text: String) throws -> String {
        let path = root + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Runs `secmod ARGS` with `stdin` as standard input.
    func secmod(_ arguments: [String], stdin: [UInt8]? = nil) throws -> OfflineRun {
        try OfflineRun.run(HelperProcess.binary("secmod"), arguments, stdin: stdin)
    }

    func setMode(_ path: String, _ mode: Int) throws {
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    }

    func mode(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    func bytes(_ path: String) -> [UInt8] { FileManager.default.contents(atPath: path).map { [UInt8]($0) } ?? [] }
}

/// One finished process: its status and both outputs.
struct OfflineRun {
    let status: Int32
    let stdout: [UInt8]
    let stderr: String
    var output: String { String(decoding: stdout, as: UTF8.self) }

    static func run(_ executable: String, _ arguments: [String], stdin: [UInt8]? = nil,
                    environment: [String: String] = [:]) throws -> OfflineRun {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        if !environment.isEmpty {
            p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        // Standard input from a file, not a pipe: a child that exits without reading must
        // not send SIGPIPE to the test runner.
        let inputPath = FileManager.default.temporaryDirectory.path + "/secmod-offline-stdin-" + UUID().uuidString
        _ = FileManager.default.createFile(atPath: inputPath, contents: Data(stdin ?? []))
        defer { try? FileManager.default.removeItem(atPath: inputPath) }
        p.standardInput = FileHandle(forReadingAtPath: inputPath)
        try p.run()
        // Read both pipes concurrently so that neither can fill up and block the child.
        let collected = Locked<Data>(Data())
        let finished = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            let data = err.fileHandleForReading.readDataToEndOfFile()
            collected.withLock { $0 = data }
            finished.signal()
        }
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        finished.wait()
        return OfflineRun(status: p.terminationStatus, stdout: [UInt8](stdout),
                          stderr: String(decoding: collected.withLock { $0 }, as: UTF8.self))
    }
}

/// A minimal HTTP/1.1 server on 127.0.0.1 (a real TCP socket), one request per connection,
/// for `download --exchange` and `upload`. `handler` answers each request.
final class OfflineHTTPServer: @unchecked Sendable {
    struct Request: Sendable {
        let method: String
        let path: String
        let headers: [String: String]
        let body: [UInt8]
    }

    let port: UInt16
    let requests = Locked<[Request]>([])
    private let listener: Int32
    private let handler: @Sendable (Request) -> (status: Int, body: [UInt8])
    private let thread: Thread

    var baseURL: String { "http://127.0.0.1:\(port)/" }

    init(_ handler: @escaping @Sendable (Request) -> (status: Int, body: [UInt8])) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HelperTestError("socket: \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 16) == 0 else { close(fd); throw HelperTestError("bind/listen: \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        port = UInt16(bigEndian: address.sin_port)
        listener = fd
        self.handler = handler
        let requests = self.requests
        thread = Thread {
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 { if errno == EINTR { continue } else { return } }
                if let request = OfflineHTTPServer.serve(client, handler) { requests.withLock { $0.append(request) } }
                close(client)
            }
        }
        thread.start()
    }

    deinit {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private static func serve(_ fd: Int32, _ handler: (Request) -> (status: Int, body: [UInt8])) -> Request? {
        var buffer: [UInt8] = []
        func fill() -> Bool {
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = recv(fd, &chunk, chunk.count, 0)
            guard n > 0 else { return false }
            buffer += chunk[0..<n]
            return true
        }
        func send(_ bytes: [UInt8]) {
            var offset = 0
            while offset < bytes.count {
                let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if n <= 0 { return }
                offset += n
            }
        }
        let separator: [UInt8] = [13, 10, 13, 10]
        var headerEnd: Int?
        while headerEnd == nil {
            if let r = buffer.firstRange(of: separator) { headerEnd = r.lowerBound; break }
            guard fill() else { return nil }
        }
        let head = String(decoding: buffer[..<headerEnd!], as: UTF8.self).components(separatedBy: "\r\n")
        let requestLine = head[0].split(separator: " ").map(String.init)
        guard requestLine.count >= 2 else { return nil }
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        if headers["expect"]?.lowercased() == "100-continue" { send(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)) }
        let bodyStart = headerEnd! + 4
        while buffer.count - bodyStart < length { guard fill() else { return nil } }
        let request = Request(method: requestLine[0], path: requestLine[1], headers: headers,
                              body: Array(buffer[bodyStart..<bodyStart + length]))
        let (status, body) = handler(request)
        var response = "HTTP/1.1 \(status) X\r\nConnection: close\r\n"
        if status != 204 { response += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n" }
        send(Array((response + "\r\n").utf8) + (status == 204 ? [] : body))
        return request
    }
}

/// The shared vectors, with the JSON forms the process tests compare against.
enum OfflineFixture {
    static func key(seed bytes: [UInt8]) throws -> Ed25519PrivateKey { try OfflineVectors.key(seed: bytes) }
    static let getBody = OfflineVectors.getBody
    static let inputDocument = OfflineVectors.inputDocument
    static let exchangePub = OfflineVectors.exchangePub
    static var pinBytes: [UInt8] { OfflineVectors.pinBytes }

    /// The offline-documents.md §10 `sign` output, as JSON (layout-independent comparison).
    static var signOutput: JSONValue {
        .array([.object([
            JSONMember("operation", .string("exchange-upload-sigs-0")),
            JSONMember("arguments", postBody),
        ])])
    }

    static var postBody: JSONValue {
        .object([
            JSONMember("denom_sigs", .array([.object([JSONMember("h_denom_pub", .string(OfflineVectors.hDenomPub)),
                                                      JSONMember("master_sig", .string(OfflineVectors.denomMasterSig))])])),
            JSONMember("signkey_sigs", .array([.object([JSONMember("exchange_pub", .string(OfflineVectors.exchangePub)),
                                                        JSONMember("master_sig", .string(OfflineVectors.signkeyMasterSig))])])),
        ])
    }
}
