import Foundation
import SecmodSystem
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Issue 6, point 1: what a helper does to itself before it loads a key, and what it
/// refuses to start with.
@Suite struct HardeningTests {
    @Test(.enabled(if: geteuid() == 0, "only root can show that root is refused"))
    func refusesRootWithoutAllowRoot() throws {
        let helper = try HelperProcess()
        #expect(try helper.runExpectingExit(allowRoot: false) == 4)
        #expect(helper.log.contains("refusing to run as root"))
        #expect(!FileManager.default.fileExists(atPath: helper.securityModuleKeyPath), "nothing is created before the refusal")
        #expect(try helper.runExpectingExit(arguments: ["--allow-root", "-h"], allowRoot: false) == 0)
    }

    /// Starts once to create the store, then breaks it one way and expects exit 4 with a
    /// message that names the file and the fix.
    private func expectRefused(_ breakIt: (HelperProcess) throws -> Void, mentions: [String]) throws {
        let helper = try HelperProcess()
        try helper.start()
        helper.stop()
        try breakIt(helper)
        try? FileManager.default.removeItem(atPath: helper.logPath)
        #expect(try helper.runExpectingExit() == 4, "\(helper.log)")
        for text in mentions { #expect(helper.log.contains(text), "log lacks '\(text)': \(helper.log)") }
    }

    @Test func refusesAKeyDirectoryOthersMayChange() throws {
        try expectRefused({ #expect(chmod($0.keyDirectory, 0o770) == 0) }, mentions: ["KEY_DIR", "mode 0770", "chmod 0700"])
    }

    /// Taler's C helpers leave their directories 0750 (umask 0027) and their key files 0400:
    /// nothing was exposed, so the helper tightens the directories itself and says so.
    @Test func tightensADirectoryOthersMayOnlyList() throws {
        let helper = try HelperProcess()
        try helper.start()
        helper.stop()
        #expect(chmod(helper.keyDirectory, 0o750) == 0)
        #expect(chmod(helper.auditDirectory, 0o755) == 0)
        try helper.start()
        #expect(try FileSystem.status(helper.keyDirectory).permissions == 0o700)
        #expect(try FileSystem.status(helper.auditDirectory).permissions == 0o700)
        let lines = helper.log.split(separator: "\n").filter { $0.contains(" MESSAGE ") && $0.contains("0700") }
        #expect(lines.contains { $0.contains(FileSystem.tidyPath(helper.keyDirectory)) && $0.contains("0750") })
        #expect(lines.contains { $0.contains(FileSystem.tidyPath(helper.auditDirectory)) && $0.contains("0755") })
        #expect(helper.stop() == 0)
    }

    /// Everything the operator must fix is named in one start, not one failed start each.
    @Test func listsEveryProblemAtOnce() throws {
        let helper = try HelperProcess()
        try helper.start()
        helper.stop()
        let keyFile = try #require(try FileManager.default.contentsOfDirectory(atPath: helper.keyDirectory)
            .first { $0.allSatisfy(\.isNumber) })
        #expect(chmod(helper.keyDirectory + "/" + keyFile, 0o644) == 0)
        #expect(chmod(helper.auditDirectory, 0o777) == 0)
        #expect(chmod(helper.securityModuleKeyPath, 0o440) == 0)
        try? FileManager.default.removeItem(atPath: helper.logPath)
        #expect(try helper.runExpectingExit() == 4)
        let line = try #require(helper.log.split(separator: "\n").first { $0.contains(" ERROR ") && $0.contains("(3)") })
        #expect(line.contains(keyFile) && line.contains("AUDIT_DIR") && line.contains("SM_PRIV_KEY"), "\(line)")
        #expect(try FileSystem.status(helper.keyDirectory + "/" + keyFile).permissions == 0o644, "nothing is changed before the fix")
    }

    @Test func refusesAModuleKeyOthersMayRead() throws {
        try expectRefused({ #expect(chmod($0.securityModuleKeyPath, 0o440) == 0) }, mentions: ["SM_PRIV_KEY", "mode 0440", "chmod 0400"])
    }

    @Test(.enabled(if: geteuid() == 0, "chown to another user needs root"))
    func refusesAKeyDirectoryAnotherUserOwns() throws {
        try expectRefused({ #expect(chown($0.keyDirectory, 65534, 65534) == 0) }, mentions: ["KEY_DIR", "owned by uid 65534", "chown -R"])
    }

    @Test(.enabled(if: geteuid() == 0, "chown to another user needs root"))
    func refusesAModuleKeyAnotherUserOwns() throws {
        try expectRefused({ #expect(chown($0.securityModuleKeyPath, 65534, 65534) == 0) }, mentions: ["SM_PRIV_KEY", "owned by uid 65534"])
    }

    @Test func refusesAKeyDirectoryThatIsASymlink() throws {
        try expectRefused({ helper in
            try FileManager.default.moveItem(atPath: helper.keyDirectory, toPath: helper.keyDirectory + "-real")
            try FileManager.default.createSymbolicLink(atPath: helper.keyDirectory, withDestinationPath: helper.keyDirectory + "-real")
        }, mentions: ["KEY_DIR", "symbolic link"])
    }

    /// libgcrypt's 1 MiB secure pool plus at least one locked page per key seed (sodium_malloc)
    /// and one for the module key: the secrets cannot be swapped out.
    @Test(.disabled(if: ProcessInfo.processInfo.environment["SECMOD_SANITIZER"] != nil,
                    "the sanitizers' runtimes turn mlock into a no-op"))
    func keySeedsAreInLockedMemory() throws {
        let helper = try HelperProcess()
        try helper.start()
        let keys = try helper.client().keys.count
        let status = try String(contentsOfFile: "/proc/\(helper.pid)/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmLck:") })
        let kilobytes = try #require(Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]))
        #expect(keys > 0)
        #expect(kilobytes >= 1024 + 4 * (keys + 1), "VmLck \(kilobytes) kB for \(keys) keys")
    }

    /// RLIMIT_CORE is checked in ServiceTests; here the filter that covers pipe core
    /// handlers with fs.suid_dumpable=2.
    @Test func coredumpFilterIsZero() throws {
        let helper = try HelperProcess()
        try helper.start()
        let filter = try String(contentsOfFile: "/proc/\(helper.pid)/coredump_filter", encoding: .utf8)
        #expect(UInt32(filter.trimmingCharacters(in: .whitespacesAndNewlines), radix: 16) == 0)
        // Control: this test process itself has the kernel's default filter, not 0.
        let own = try String(contentsOfFile: "/proc/self/coredump_filter", encoding: .utf8)
        #expect(UInt32(own.trimmingCharacters(in: .whitespacesAndNewlines), radix: 16) != 0)
    }
}

/// The attacks of a second process of the helper's own user. Root may always ptrace, so
/// both the helper and the attacker run as `secmod-test-helper`.
@Suite(.enabled(if: TestUsers.canCreate, "needs root to create test users"))
struct SameUserAttackTests {
    @Test func ptraceAndProcMemAreRefused() throws {
        let user = try TestUsers.helper
        let probe = try Probes.binary("ptrace-probe").get()
        let helper = try HelperProcess()
        try TestUsers.handOver(helper.root, to: user)
        let attacked = TestUsers.run(as: user, probe, [helper.socketPath, "--", HelperProcess.binary("taler-exchange-secmod-eddsa"),
                                                        "-c", helper.configPath, "-l", helper.logPath])
        #expect(attacked.status == 0, "\(attacked.output)\n\(helper.log)")
        #expect(attacked.output.contains("attach: EPERM"), "\(attacked.output)")
        #expect(attacked.output.contains("mem: EACCES") || attacked.output.contains("mem: EPERM"), "\(attacked.output)")
        // Not dumpable: the kernel hands the process's /proc files to root.
        #expect(attacked.output.contains("proc-owner: 0"), "\(attacked.output)")

        // Control: the same probe, user and kernel succeed against an ordinary process, so
        // the refusal above is the helper's doing.
        let control = TestUsers.run(as: user, probe, ["/", "--", "/bin/sleep", "30"])
        #expect(control.output.contains("attach: ok"), "\(control.output)")
        #expect(control.output.contains("mem: ok"), "\(control.output)")
        #expect(control.output.contains("proc-owner: \(user.uid)"), "\(control.output)")
    }

    /// Without --allow-root and as its own user, the helper serves normally.
    @Test func runsAsItsOwnUser() throws {
        let user = try TestUsers.helper
        let helper = try HelperProcess(config: "CLIENT_USERS = root")
        try helper.start(as: user)
        let client = try helper.client()
        #expect(!client.keys.isEmpty)
        var st = stat()
        #expect(stat(helper.socketPath, &st) == 0)
        #expect(st.st_uid == user.uid && st.st_mode & 0o7777 == 0o620)
        #expect(stat(helper.securityModuleKeyPath, &st) == 0)
        #expect(st.st_uid == user.uid && st.st_mode & 0o7777 == 0o400)
        #expect(helper.stop() == 0)
    }
}

/// A key holder carries no more code than it needs: the helpers link neither Foundation nor
/// ICU (about 9 MiB of resident memory each), nor p11-kit and libffi (0.45 MiB; a token's
/// PKCS#11 module is opened at run time, only when configured).
@Suite struct LinkageTests {
    @Test(arguments: ["taler-exchange-secmod-eddsa", "taler-exchange-secmod-rsa", "taler-exchange-secmod-cs", "secmod-agent"])
    func helpersLinkNoFoundationICUOrP11Kit(program: String) {
        let run = GnunetReferee.run("/usr/bin/ldd", [HelperProcess.binary(program)])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains("libswiftCore"), "ldd listed nothing recognisable: \(run.output)")
        let unwanted = ["Foundation", "ICU", "libp11-kit", "libffi"]
        let heavy = run.output.split(separator: "\n").filter { line in unwanted.contains { line.contains($0) } }
        #expect(heavy.isEmpty, "\(program) links \(heavy)")
    }
}
