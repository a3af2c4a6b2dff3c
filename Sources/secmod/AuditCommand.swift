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
            SIGNATURES is never below the true count. While a helper runs (STATE signing) it
            includes the block reserved ahead; OVER<= is how many of them may not have been made
            (0 after clean stops only). Run as the helper's user or root: AUDIT_DIR is private.
            """)

    @Option(name: [.customShort("c"), .long], help: "Configuration file (as given to the helpers).")
    var config: String?

    @Option(name: .long, help: "Only this helper (eddsa or rsa); default both.")
    var helper: HelperKind?

    @Flag(name: .long, help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
        let configuration: Configuration
        do throws(SecmodError) { configuration = try TalerConfiguration.load(file: config) } catch { throw CLIError(error) }
        var rows: [(HelperKind, AuditRecord)] = []
        var problems: [String] = []
        for kind in helper.map({ [$0] }) ?? HelperKind.allCases {
            do throws(SecmodError) {
                let c = configuration, s = kind.section
                let path = try c.require(c.filename(section: s, option: "AUDIT_DIR"), section: s, option: "AUDIT_DIR")
                let (records, bad) = try AuditDirectory(path: path).readAll()
                rows += records.map { (kind, $0) }
                problems += bad
            } catch {
                throw CLIError(error)
            }
        }
        if json {
            let objects = rows.map { kind, r in
                jsonObject([("helper", jsonString(kind.rawValue)), ("section", jsonString(r.section)),
                            ("anchor", String(r.anchorSeconds)), ("key", jsonString(r.key)),
                            ("signatures", String(r.signatures)), ("overcount_bound", String(r.overcountBound)),
                            ("state", jsonString(r.state.rawValue)), ("revoked", r.revoked ? "true" : "false")])
            }
            print(objects.isEmpty ? "[]" : "[\n  " + objects.joined(separator: ",\n  ") + "\n]")
        } else {
            print(pad("HELPER", 7) + pad("SECTION", 30) + pad("ANCHOR", 12) + pad("SIGNATURES", 12) + pad("OVER<=", 9)
                  + pad("STATE", 9) + pad("REVOKED", 8) + "KEY")
            for (kind, r) in rows {
                print(pad(kind.rawValue, 7) + pad(r.section, 30) + pad(String(r.anchorSeconds), 12) + pad(String(r.signatures), 12)
                      + pad(String(r.overcountBound), 9) + pad(r.state.rawValue, 9) + pad(r.revoked ? "yes" : "no", 8) + r.key)
            }
        }
        for problem in problems { OfflineIO.note("secmod audit: \(problem)") }
        if !problems.isEmpty { throw ExitCode(1) }
    }

    private func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count)
    }
}
