import Foundation
import SecmodBase
import SecmodOffline
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `--timeout` takes what ArgumentParser reads as a number, including `inf`, `nan` and
/// `1e300`, which once trapped when turned into microseconds. Every command that takes it
/// refuses them as a usage error (exit 64, the option named); a valid timeout gets past the
/// check to the missing configuration (exit 1), the control.
@Suite struct CLITimeoutTests {
    /// The command, and whether `--timeout 0` (no limit) is valid for it: yes where it talks
    /// to a helper, no for HTTP.
    static let commands: [([String], Bool)] = [
        (["revoke", "--helper", "eddsa", "--key", "AAAA"], true),
        (["keys", "--helper", "eddsa"], true),
        (["sign", "--helper", "eddsa", "--purpose", "1032"], true),
        (["download", "--helpers"], false),
        (["upload", "/dev/null"], false),
    ]

    @Test(arguments: commands)
    func unrepresentableTimeoutsAreUsageErrors(command: [String], zeroIsValid: Bool) {
        let secmod = HelperProcess.binary("secmod")
        for bad in ["inf", "nan", "1e300", "-5"] + (zeroIsValid ? [] : ["0"]) {
            let run = GnunetReferee.run(secmod, command + ["-c", "/nonexistent/secmod.conf", "--timeout=\(bad)"])
            #expect(run.status == 64, "\(command) --timeout=\(bad): \(run.status) \(run.output)")
            #expect(run.output.contains("--timeout"), "\(command) --timeout=\(bad): \(run.output)")
        }
        let control = GnunetReferee.run(secmod, command + ["-c", "/nonexistent/secmod.conf", "--timeout=5"])
        #expect(control.status == 6, "\(command) --timeout=5: \(control.status) \(control.output)")
        if zeroIsValid {
            let none = GnunetReferee.run(secmod, command + ["-c", "/nonexistent/secmod.conf", "--timeout=0"])
            #expect(none.status == 6, "\(command) --timeout=0: \(none.status) \(none.output)")
        }
    }

    /// A helper stopped with SIGSTOP accepts nothing: every command that talks to it gives up
    /// after its timeout, by default 10 s, with the `timeout` code, instead of hanging.
    @Test func aStoppedHelperTimesOutInsteadOfHanging() throws {
        let helper = try HelperProcess(.eddsa)
        try helper.start()
        kill(helper.pid, SIGSTOP)
        defer { kill(helper.pid, SIGCONT) }
        let secmod = HelperProcess.binary("secmod")
        let started = Date()
        let run = GnunetReferee.run(secmod, ["keys", "--helper", "eddsa", "-c", helper.configPath, "--timeout", "1"])
        #expect(run.status == 75, "\(run.output)")
        #expect(run.output.contains("timeout:"), "\(run.output)")
        #expect(Date().timeIntervalSince(started) < 8)
        // Without --timeout: the default, 10 s.
        let byDefault = Date()
        let plain = GnunetReferee.run(secmod, ["keys", "--helper", "eddsa", "-c", helper.configPath])
        #expect(plain.status == 75 && plain.output.contains("timeout:"), "\(plain.output)")
        let waited = Date().timeIntervalSince(byDefault)
        #expect(waited >= 9 && waited < 20, "waited \(waited) s")
        kill(helper.pid, SIGCONT)
        #expect(GnunetReferee.run(secmod, ["keys", "--helper", "eddsa", "-c", helper.configPath]).status == 0)
        #expect(helper.stop() == 0)
    }

    /// Options of helper signing without `--helper`: a usage error, not offline signing.
    @Test func helperOptionsWithoutHelperAreAUsageError() {
        let run = GnunetReferee.run(HelperProcess.binary("secmod"), ["sign", "--purpose", "1032", "-c", "/nonexistent/secmod.conf"])
        #expect(run.status == 64, "\(run.output)")
        #expect(run.output.contains("--helper"))
    }

    /// Under `--json` a failure is a JSON object with the stable code, on standard output.
    @Test func jsonErrorsCarryTheCode() throws {
        let run = try OfflineRun.run(HelperProcess.binary("secmod"), ["keys", "--json", "-c", "/nonexistent/secmod.conf"])
        #expect(run.status == 6)
        let value = try JSONValue.parse(run.stdout)
        guard case let .object(fields) = value, case let .object(error)? = fields.first(where: { $0.name == "error" })?.value else {
            Issue.record("not {\"error\": {...}}: \(run.output)")
            return
        }
        #expect(error.first { $0.name == "code" }?.value == .string("config-missing"))
    }

    @Test func versionIsPrinted() {
        let run = GnunetReferee.run(HelperProcess.binary("secmod"), ["--version"])
        #expect(run.status == 0)
        #expect(run.output.contains(SecmodVersion.string))
    }
}

/// `secmod helper …` and `secmod offline …`: the unambiguous groups of the review's item 11.
@Suite struct CommandGroupTests {
    @Test func eachGroupSignsOnlyItsOwnWay() throws {
        let secmod = HelperProcess.binary("secmod")
        // helper sign without --helper: a usage error naming the option, never offline signing.
        let missing = GnunetReferee.run(secmod, ["helper", "sign", "--purpose", "1032", "-c", "/nonexistent/secmod.conf"])
        #expect(missing.status == 64 && missing.output.contains("--helper"), "\(missing.output)")
        // offline sign has no helper options at all.
        let wrong = GnunetReferee.run(secmod, ["offline", "sign", "--helper", "eddsa", "-c", "/nonexistent/secmod.conf"])
        #expect(wrong.status == 64, "\(wrong.output)")

        let helper = try HelperProcess(.eddsa)
        try helper.start()
        let signed = try OfflineRun.run(secmod, ["helper", "sign", "--helper", "eddsa", "--purpose", "1032", "-c", helper.configPath, "--json"],
                                        stdin: Array("data".utf8))
        #expect(signed.status == 0, "\(signed.stderr)")
        #expect(signed.output.contains("\"signature\""))
        let keys = try OfflineRun.run(secmod, ["helper", "keys", "--helper", "eddsa", "-c", helper.configPath])
        #expect(keys.status == 0)
        #expect(helper.stop() == 0)
    }
}
