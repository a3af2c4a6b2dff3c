import ArgumentParser
import SecmodBase
import SecmodConfig
import SecmodKeys
import SecmodServer
import SecmodSystem
#if canImport(Glibc)
import Glibc
#endif

/// `secmod takeover`: the helpers' own start-up inspection of their key stores, run ahead
/// of switching from Taler's C helpers, for both helpers and every RSA denomination at once.
/// It changes nothing: it says what the helpers will tighten themselves and what the
/// operator must fix first (docs/migrating-from-taler.md).
struct Takeover: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check, before the first start, that the helpers can take over the key stores Taler's C helpers left.",
        discussion: """
            Runs the checks each helper runs at start, for both helpers and every
            CIPHER = RSA denomination, and changes nothing. Directories the helper's user owns
            that others may only list (Taler's helpers leave them 0750) are tightened to 0700 by
            the helper itself; everything else listed must be fixed first. Run as root or as the
            helpers' users, so that the key directories can be read.
            Exit status: 0 ready, 4 problems to fix, 6 configuration error.
            """)

    @Option(name: [.customShort("c"), .long], help: "Configuration file (as given to the helpers).")
    var config: String?

    @Option(name: .long, help: "The EdDSA helper's user (default: taler-exchange-secmod-eddsa if it exists, else you).")
    var eddsaUser: String?

    @Option(name: .long, help: "The RSA helper's user (default: taler-exchange-secmod-rsa if it exists, else you).")
    var rsaUser: String?

    @Option(name: .long, help: "The Clause-Schnorr helper's user (default: taler-exchange-secmod-cs if it exists, else you).")
    var csUser: String?

    @Option(name: .long, help: "The section prefix the helpers are started with (--section-prefix).")
    var sectionPrefix = "taler-exchange"

    /// The uid a helper will run as: the named user, the packaged default, or the caller.
    static func owner(_ name: String?, default fallback: String) throws -> (uid: UInt32, name: String) {
        if let name {
            guard let user = UserDatabase.user(named: name) else { throw CLIError("no user named \(name)") }
            return (user.uid, name)
        }
        if let user = UserDatabase.user(named: fallback) { return (user.uid, fallback) }
        let uid = UInt32(geteuid())
        return (uid, UserDatabase.describe(uid: uid))
    }

    func run() throws {
        let configuration: Configuration
        do throws(SecmodError) { configuration = try TalerConfiguration.load(file: config) } catch { throw CLIError(error) }
        var problems = 0
        for kind in HelperKind.allCases {
            let section = "\(sectionPrefix)-secmod-\(kind.rawValue)"
            let named: String? = switch kind {
            case .eddsa: eddsaUser
            case .rsa: rsaUser
            case .cs: csUser
            }
            let (uid, user) = try Self.owner(named, default: "taler-exchange-secmod-\(kind.rawValue)")
            let report: PrivateStorage.Report
            var notes: [String] = []
            var groups = 0
            do throws(SecmodError) {
                switch kind {
                case .eddsa:
                    let settings = try HelperSettings(configuration: configuration, section: section, extraOptions: EddsaFamily.extraOptions)
                    let family = try EddsaFamily(configuration: configuration, settings: settings)
                    report = KeyStoreInspection.inspect(family: family, settings: settings, owner: uid)
                    groups = family.groups.count
                case .rsa:
                    let settings = try HelperSettings(configuration: configuration, section: section, extraOptions: RsaFamily.extraOptions)
                    let family = try RsaFamily(configuration: configuration, settings: settings)
                    report = KeyStoreInspection.inspect(family: family, settings: settings, owner: uid)
                    groups = family.groups.count
                    notes = family.startupNotices
                case .cs:
                    let settings = try HelperSettings(configuration: configuration, section: section, extraOptions: CsFamily.extraOptions)
                    let family = try CsFamily(configuration: configuration, settings: settings)
                    report = KeyStoreInspection.inspect(family: family, settings: settings, owner: uid)
                    groups = family.groups.count
                }
            } catch {
                throw CLIError(error)
            }
            let what = switch kind {
            case .eddsa: "online signing keys"
            case .rsa: "\(groups) RSA denomination\(groups == 1 ? "" : "s")"
            case .cs: "\(groups) CS denomination\(groups == 1 ? "" : "s")"
            }
            print("[\(section)] as \(user) (uid \(uid)), \(what): \(report.problems.isEmpty ? "ready" : "\(report.problems.count) problem\(report.problems.count == 1 ? "" : "s") to fix")")
            for (path, mode) in report.tighten {
                print("  will tighten \(path) from \(octalMode(mode)) to 0700 itself")
            }
            for problem in report.problems { print("  fix: \(problem)") }
            for note in notes { print("  note: \(note)") }
            problems += report.problems.count
        }
        if problems > 0 { throw ExitCode(4) }
    }
}
