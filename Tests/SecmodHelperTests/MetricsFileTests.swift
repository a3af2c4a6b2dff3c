import Foundation
import SecmodClient
import SecmodOffline
import SecmodSystem
import SecmodWire
import Testing

/// `METRICS_FILE`: the Prometheus text file an operator's node_exporter reads. Exact live
/// signature counts per key, failures by Taler code, sessions, keys; replaced atomically.
@Suite struct MetricsFileTests {
    /// Parses `name{labels} value` lines into (name, labels, value); fails the test on any
    /// line that is neither a sample nor a `# HELP`/`# TYPE` comment.
    static func samples(_ text: String) -> [(name: String, labels: String, value: Double)] {
        var result: [(String, String, Double)] = []
        for line in text.split(separator: "\n") where !line.hasPrefix("# HELP ") && !line.hasPrefix("# TYPE ") {
            guard let open = line.firstIndex(of: "{"), let close = line.lastIndex(of: "}"),
                  let value = Double(line[line.index(after: close)...].trimmingCharacters(in: .whitespaces)) else {
                Issue.record("not a sample line: \(line)")
                continue
            }
            result.append((String(line[..<open]), String(line[line.index(after: open)..<close]), value))
        }
        return result
    }

    @Test func countsSignaturesFailuresAndKeys() throws {
        let helper = try HelperProcess(.eddsa, config: "METRICS_FILE = \(FileManager.default.temporaryDirectory.path)/secmod-metrics-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).prom")
        let config = try String(contentsOfFile: helper.configPath, encoding: .utf8)
        let path = try #require(config.split(separator: "\n").first { $0.hasPrefix("METRICS_FILE = ") }.map { String($0.dropFirst(15)) })
        defer { try? FileManager.default.removeItem(atPath: path) }
        try helper.start()
        let client = try helper.client()
        var signer: [UInt8] = []
        for _ in 0..<3 { signer = try client.sign(purposeBytes: [0, 0, 0, 8, 0, 0, 0, 0]).publicKey }
        let raw = try RawClient()
        _ = try raw.handshake(socketPath: helper.socketPath)
        try raw.send([0, 12, 0, 15, 0, 0, 0, 0, 0, 0, 0, 8])  // malformed SIGN: code 26
        #expect(try raw.receive(seconds: 5) != nil)

        // The file is replaced every 5 s; wait for one that has seen all four requests.
        let id = CrockfordBase32.encode(signer)
        var lines: [(name: String, labels: String, value: Double)] = []
        let deadline = Date().addingTimeInterval(15)
        repeat {
            usleep(100_000)
            lines = Self.samples((try? String(contentsOfFile: path, encoding: .utf8)) ?? "")
        } while Date() < deadline && !lines.contains { $0.name == "secmod_failures_total" && $0.labels.contains("code=\"26\"") }
        let signatures = lines.first { $0.name == "secmod_signatures_total" && $0.labels.contains("key=\"\(id)\"") }
        #expect(signatures?.value == 3, "\(lines)")
        #expect(lines.first { $0.name == "secmod_failures_total" && $0.labels.contains("code=\"26\"") }?.value == 1)
        #expect((lines.first { $0.name == "secmod_keys" && $0.labels.contains("state=\"served\"") }?.value ?? 0) == Double(client.keys.count))
        #expect((lines.first { $0.name == "secmod_sessions" }?.value ?? 0) >= 2)
        let untilExpiry = try #require(lines.first { $0.name == "secmod_seconds_until_last_key_expires" }).value
        #expect(untilExpiry > 0 && untilExpiry <= 6 * 60)
        #expect(lines.allSatisfy { $0.labels.contains("helper=\"taler-exchange-secmod-eddsa\"") })
        let mode = try FileSystem.status(path).permissions
        #expect(mode == 0o644)

        // secmod audit shows the exact live count from the fresh file, not the reserved block.
        let audit = try OfflineRun.run(HelperProcess.binary("secmod"), ["audit", "-c", helper.configPath, "--helper", "eddsa", "--json"])
        #expect(audit.status == 0, "\(audit.stderr)")
        guard case let .array(rows) = try JSONValue.parse(audit.stdout) else { Issue.record("\(audit.output)"); return }
        let row = rows.compactMap { value -> [JSONMember]? in
            guard case let .object(fields) = value, fields.contains(where: { $0.name == "key" && $0.value == .string(id) }) else { return nil }
            return fields
        }.first
        #expect(row?.first { $0.name == "signatures" }?.value == .number("3"), "\(audit.output)")
        #expect(row?.first { $0.name == "live" }?.value == .bool(true))
        #expect(helper.stop() == 0)
    }

    /// The default `METRICS_FILE =` (empty) means none: no metrics thread. (Expanded as a file
    /// name, the empty value once became the working directory.)
    @Test func noMetricsFileByDefault() throws {
        let helper = try HelperProcess(.eddsa)
        try helper.start()
        let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(helper.pid)/task")
        let names = tasks.compactMap { try? String(contentsOfFile: "/proc/\(helper.pid)/task/\($0)/comm", encoding: .utf8) }
        #expect(names.contains { $0.hasPrefix("worker-") }, "\(names)")  // the listing works
        #expect(!names.contains { $0.hasPrefix("metrics") }, "\(names)")
        #expect(helper.stop() == 0)
    }
}
