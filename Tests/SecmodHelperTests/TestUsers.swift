import Foundation
import SecmodSystem
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Real second (and third) UIDs for the tests of what the helpers promise against other
/// users: ptrace, caller allow-lists, file ownership. CI runs as root, so the accounts are
/// created on first use (system accounts without a home or a login shell) and kept.
///
/// - `secmod-test-helper` runs the helper; its primary group `secmod-test-clients` owns the
///   socket file, as `taler-exchange-secmod` does in production.
/// - `secmod-test-client` and `secmod-test-other` are both in that group, so the socket's
///   mode lets both in and only the allow-list tells them apart. Only the client is in
///   `secmod-test-signers`.
enum TestUsers {
    struct Account: Sendable {
        let name: String
        let uid: UInt32
        let gid: UInt32
    }

    static let clientsGroup = "secmod-test-clients"
    static let signersGroup = "secmod-test-signers"

    /// Whether this run can make users; without root the tests that need them are skipped,
    /// and say so.
    static let canCreate: Bool = geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/sbin/useradd")
        && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")

    static var helper: Account { get throws { try accounts.get()[0] } }
    static var client: Account { get throws { try accounts.get()[1] } }
    static var stranger: Account { get throws { try accounts.get()[2] } }

    private static let accounts: Result<[Account], HelperTestError> = {
        do {
            try run("/usr/sbin/groupadd", ["-f", clientsGroup])
            try run("/usr/sbin/groupadd", ["-f", signersGroup])
            return .success([
                try ensure("secmod-test-helper", ["-g", clientsGroup]),
                try ensure("secmod-test-client", ["-U", "-G", "\(clientsGroup),\(signersGroup)"]),
                try ensure("secmod-test-other", ["-U", "-G", clientsGroup]),
            ])
        } catch let error as HelperTestError {
            return .failure(error)
        } catch {
            return .failure(HelperTestError("\(error)"))
        }
    }()

    /// `secmod-test-ssh`: the account `ssh` logs in as in the agent's login test. Unlike the
    /// others it has a shell (sshd runs the session through it) and the password `*` instead
    /// of useradd's `!` (with UsePAM no, sshd refuses "locked" accounts even for keys). In
    /// the clients group, so that the agent's socket lets it in.
    static var sshUser: Account { get throws { try sshAccount.get() } }

    private static let sshAccount: Result<Account, HelperTestError> = {
        do {
            _ = try accounts.get()
            let name = "secmod-test-ssh"
            if UserDatabase.user(named: name) == nil {
                try run("/usr/sbin/useradd", ["--system", "--no-create-home", "--shell", "/bin/sh", "-U", "-G", clientsGroup, name])
            }
            // Also when the account was made before, by hand or by an older suite.
            try run("/usr/sbin/usermod", ["-p", "*", "-s", "/bin/sh", "-a", "-G", clientsGroup, name])
            guard let user = UserDatabase.user(named: name) else { throw HelperTestError("useradd \(name) left no user") }
            return .success(Account(name: name, uid: user.uid, gid: user.gid))
        } catch let error as HelperTestError {
            return .failure(error)
        } catch {
            return .failure(HelperTestError("\(error)"))
        }
    }()

    private static func ensure(_ name: String, _ groups: [String]) throws -> Account {
        if UserDatabase.user(named: name) == nil {
            try run("/usr/sbin/useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin"] + groups + [name])
        }
        guard let user = UserDatabase.user(named: name) else { throw HelperTestError("useradd \(name) left no user") }
        return Account(name: name, uid: user.uid, gid: user.gid)
    }

    private static func run(_ tool: String, _ arguments: [String]) throws {
        let result = GnunetReferee.run(tool, arguments)
        guard result.status == 0 else { throw HelperTestError("\(tool) \(arguments.joined(separator: " ")): \(result.output)") }
    }

    /// The command line that runs `program` as `account`, with its groups.
    static func command(as account: Account, _ program: String, _ arguments: [String]) -> (String, [String]) {
        ("/usr/bin/setpriv", ["--reuid=\(account.uid)", "--regid=\(account.gid)", "--init-groups", program] + arguments)
    }

    /// Runs a program as `account` to completion; standard output and error together.
    static func run(as account: Account, _ program: String, _ arguments: [String]) -> (status: Int32, output: String) {
        let (tool, full) = command(as: account, program, arguments)
        return GnunetReferee.run(tool, full)
    }

    /// Gives a test's directory tree to `account`, as an operator's install would.
    static func handOver(_ path: String, to account: Account) throws {
        let result = GnunetReferee.run("/bin/chown", ["-R", "\(account.uid):\(account.gid)", path])
        guard result.status == 0 else { throw HelperTestError("chown \(path): \(result.output)") }
    }
}
