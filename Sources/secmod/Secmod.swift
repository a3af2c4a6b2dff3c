import ArgumentParser
import Foundation
import SecmodBase

/// The operator's and offline signer's tool.
@main
struct Secmod: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secmod",
        abstract: "Talk to the swift-secmod helpers (secmod helper ...), sign their keys offline (secmod offline ...), and use secmod-agent (secmod agent ...).",
        discussion: """
            The two groups are the unambiguous forms: `secmod helper sign` always signs through a             helper, `secmod offline sign` always signs future keys with the master key. The             commands below the groups are the same commands without the group's name; there,             `sign` signs through a helper only with --helper.
            """,
        version: "secmod (swift-secmod) \(SecmodVersion.string)",
        subcommands: [HelperGroup.self, OfflineGroup.self, AgentGroup.self, Keys.self, Sign.self, Verify.self, Revoke.self, Audit.self, Takeover.self,
                      OfflineSetup.self, OfflineDownload.self, OfflineShow.self, OfflineUpload.self]
    )
}

extension Secmod {
    /// ArgumentParser's main, with the exit statuses of docs/cli-exit-codes.md and, when
    /// `--json` was asked for, the error as a JSON object on standard output.
    static func main() {
        let wantsJSON = CommandLine.arguments.dropFirst().contains("--json")
        func fail(code: String, message: String, detail: String? = nil, status: Int32) -> Never {
            if wantsJSON {
                print(jsonObject([("error", jsonObject([("code", jsonString(code)), ("message", jsonString(detail ?? message))]))]))
            } else {
                FileHandle.standardError.write(Data("Error: \(message)\n".utf8))
            }
            Glibc.exit(status)
        }
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let error as CLIError {
            fail(code: error.code?.rawValue ?? "failure", message: error.message, detail: error.detail, status: error.exitStatus)
        } catch {
            let status = exitCode(for: error)
            if wantsJSON, status != .success, !(error is ExitCode) {
                fail(code: status.rawValue == 64 ? "usage" : "failure", message: fullMessage(for: error), status: status.rawValue)
            }
            exit(withError: error)
        }
    }
}

/// Which helper a command talks to.
enum HelperKind: String, ExpressibleByArgument, CaseIterable, Sendable {
    case eddsa, rsa, cs

    var section: String {
        switch self {
        case .eddsa: "taler-exchange-secmod-eddsa"
        case .rsa: "taler-exchange-secmod-rsa"
        case .cs: "taler-exchange-secmod-cs"
        }
    }

    /// The `[exchange-offline]` option that pins this helper's security module key, as the
    /// offline signer reads it.
    var moduleKeyOption: String {
        switch self {
        case .eddsa: "SECM_ESIGN_PUBKEY"
        case .rsa: "SECM_DENOM_PUBKEY"
        case .cs: "SECM_DENOM_CS_PUBKEY"
        }
    }
}

/// Options shared by the commands that reach a helper.
struct HelperOptions: ParsableArguments {
    @Option(name: .long, help: "Which helper: eddsa, rsa or cs.")
    var helper: HelperKind = .eddsa

    @Option(name: [.customShort("c"), .long], help: "Configuration file (as given to the helper).")
    var config: String?

    @Option(name: .long, help: "Give up after this many seconds; 0 waits as long as it takes.")
    var timeout: Double = defaultHelperTimeout

    func validate() throws { try validateTimeout(timeout) }
}

/// A command that talks to a helper gives up after this long unless told otherwise: a
/// stopped helper, or one that refuses this user (CLIENT_USERS), must not hang a script.
let defaultHelperTimeout: Double = 10

/// `--timeout` as the client takes it: nil (no limit) for 0.
func helperTimeout(_ seconds: Double) -> Duration? { seconds == 0 ? nil : .seconds(seconds) }

/// `--timeout`: a finite number of seconds up to a year; 0 (no limit) where `allowZero`, for
/// the commands that talk to a helper (HTTP requests always have a limit). ArgumentParser
/// reads `inf` and `nan` as numbers; they are refused here, before anything turns them into
/// microseconds.
func validateTimeout(_ seconds: Double?, allowZero: Bool = true) throws {
    guard let seconds else { return }
    guard seconds.isFinite, allowZero ? seconds >= 0 : seconds > 0, seconds <= 366 * 86_400 else {
        throw ValidationError(allowZero ? "--timeout must be a number of seconds from 0 (wait as long as it takes) to a year"
                                        : "--timeout must be a positive number of seconds, at most a year")
    }
}
