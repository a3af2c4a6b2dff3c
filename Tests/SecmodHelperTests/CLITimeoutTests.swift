import Testing

/// `--timeout` takes what ArgumentParser reads as a number, including `inf`, `nan` and
/// `1e300`, which once trapped when turned into microseconds. Every command that takes it
/// refuses them as a usage error (exit 64, the option named); a valid timeout gets past the
/// check to the missing configuration (exit 1), the control.
@Suite struct CLITimeoutTests {
    static let commands: [[String]] = [
        ["revoke", "--helper", "eddsa", "--key", "AAAA"],
        ["sign", "--helper", "eddsa", "/dev/null"],
        ["download", "--helpers"],
        ["upload", "/dev/null"],
    ]

    @Test(arguments: commands)
    func unrepresentableTimeoutsAreUsageErrors(command: [String]) {
        let secmod = HelperProcess.binary("secmod")
        for bad in ["inf", "nan", "1e300", "0", "-5"] {
            let run = GnunetReferee.run(secmod, command + ["-c", "/nonexistent/secmod.conf", "--timeout=\(bad)"])
            #expect(run.status == 64, "\(command) --timeout=\(bad): \(run.status) \(run.output)")
            #expect(run.output.contains("--timeout"), "\(command) --timeout=\(bad): \(run.output)")
        }
        let control = GnunetReferee.run(secmod, command + ["-c", "/nonexistent/secmod.conf", "--timeout=5"])
        #expect(control.status == 1, "\(command) --timeout=5: \(control.status) \(control.output)")
    }
}
