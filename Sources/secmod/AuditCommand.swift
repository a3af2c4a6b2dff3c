import ArgumentParser
import SecmodBase
import SecmodConfig
import SecmodKeys
import SecmodSystem

/// Reads the helpers' signature audit counters from their files. Safe while the helpers
/// run: every counter file is replaced atomically, so a reader sees a whole record.
struct Audit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print how many signatures each key has made, from the helpers' audit counter files.",
        discussion: """
            SIGNATURES is never below the true count. While a helper runs (STATE signing) its
            file includes the block reserved ahead; when the helper publishes METRICS_FILE and
            it is fresh (under 30 s old), the exact live count is shown instead (LIVE yes).
            OVER<= is how many may not have been made (0 after clean stops only). Run as the
            helper's user or root: AUDIT_DIR is private.
            """)

    @Option(name: [.customShort("c"), .long], help: "Configuration file (as given to the helpers).")
    var config: String?

    @Option(name: .long, help: "Only this helper (eddsa, rsa or cs); default all.")
    var helper: HelperKind?

    @Flag(name: .long, help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
        let configuration: Configuration
        do throws(SecmodError) { configuration = try TalerConfiguration.load(file: config) } catch { throw CLIError(error) }
        var rows: [(HelperKind, AuditRecord)] = []
        var problems: [String] = []
        var live: [String: UInt64] = [:]
        for kind in helper.map({ [$0] }) ?? HelperKind.allCases {
            do throws(SecmodError) {
                let c = configuration, s = kind.section
                let path = try c.require(c.filename(section: s, option: "AUDIT_DIR"), section: s, option: "AUDIT_DIR")
                let (records, bad) = try AuditDirectory(path: path).readAll()
                rows += records.map { (kind, $0) }
                problems += bad
                if let raw = try c.string(section: s, option: "METRICS_FILE"), !raw.isEmpty,
                   let metrics = try c.filename(section: s, option: "METRICS_FILE") {
                    live.merge(LiveCounts.read(metrics, maximumAgeSeconds: 30)) { $1 }
                }
            } catch {
                throw CLIError(error)
            }
        }
        // A running helper's exact count replaces its file's reservation (never lower than
        // the true count either way; the live one is exact).
        rows = rows.map { kind, r in
            guard r.state == .signing, let exact = live[r.key] else { return (kind, r) }
            var exactRecord = r
            exactRecord.signatures = exact
            return (kind, exactRecord)
        }
        func isLive(_ r: AuditRecord) -> Bool { r.state == .signing && live[r.key] != nil }
        if json {
            let objects = rows.map { kind, r in
                jsonObject([("helper", jsonString(kind.rawValue)), ("section", jsonString(r.section)),
                            ("anchor", String(r.anchorSeconds)), ("key", jsonString(r.key)),
                            ("signatures", String(r.signatures)), ("overcount_bound", String(r.overcountBound)),
                            ("state", jsonString(r.state.rawValue)), ("revoked", r.revoked ? "true" : "false"),
                            ("live", isLive(r) ? "true" : "false")])
            }
            print(objects.isEmpty ? "[]" : "[\n  " + objects.joined(separator: ",\n  ") + "\n]")
        } else {
            print(pad("HELPER", 7) + pad("SECTION", 30) + pad("ANCHOR", 12) + pad("SIGNATURES", 12) + pad("OVER<=", 9)
                  + pad("STATE", 9) + pad("REVOKED", 8) + pad("LIVE", 5) + "KEY")
            for (kind, r) in rows {
                print(pad(kind.rawValue, 7) + pad(r.section, 30) + pad(String(r.anchorSeconds), 12) + pad(String(r.signatures), 12)
                      + pad(String(r.overcountBound), 9) + pad(r.state.rawValue, 9) + pad(r.revoked ? "yes" : "no", 8)
                      + pad(isLive(r) ? "yes" : "no", 5) + r.key)
            }
        }
        for problem in problems { OfflineIO.note("secmod audit: \(problem)") }
        if !problems.isEmpty { throw ExitCode(1) }
    }

    private func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count)
    }
}

/// The exact signature counts a running helper publishes in its `METRICS_FILE`
/// (`secmod_signatures_total{...,key="K"} N`), if the file was written within
/// `maximumAgeSeconds` (`secmod_last_update_seconds`): a stale file belongs to a stopped
/// helper, whose audit files are then exact themselves.
enum LiveCounts {
    static func read(_ path: String, maximumAgeSeconds: UInt64) -> [String: UInt64] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [:] }
        var counts: [String: UInt64] = [:]
        var updated: UInt64?
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let close = line.lastIndex(of: "}"),
                  let value = UInt64(line[line.index(after: close)...].drop { $0 == " " }) else { continue }
            if line.hasPrefix("secmod_last_update_seconds{") { updated = value }
            guard line.hasPrefix("secmod_signatures_total{"), let k = line.range(of: "key=\"") else { continue }
            let rest = line[k.upperBound...]
            guard let end = rest.firstIndex(of: "\"") else { continue }
            counts[String(rest[..<end])] = value
        }
        let now = UInt64(Clock.wallMicroseconds() / 1_000_000)
        guard let updated, now >= updated, now - updated <= maximumAgeSeconds else { return [:] }
        return counts
    }
}
