import Foundation
import SecmodClient
import SecmodSystem
import SecmodWire
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Whoever can write the socket's directory, or a directory above it without the sticky
/// bit, can swap the socket for their own. The helper refuses to start there (exit 4), and
/// the client refuses to talk to a socket there.
@Suite struct SocketDirectoryTests {
    /// The helper's socket directory, made before the helper starts.
    private func prepareSocketDirectory(_ helper: HelperProcess, mode: mode_t, owner: UInt32? = nil) throws {
        let directory = FileSystem.directoryName(of: helper.socketPath)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        #expect(chmod(directory, mode) == 0)
        if let owner { #expect(chown(directory, owner, gid_t(getegid())) == 0) }
    }

    @Test(arguments: [HelperTransport.datagram, .stream])
    func aWorldWritableSocketDirectoryStopsTheHelper(transport: HelperTransport) throws {
        let helper = try HelperProcess(transport: transport)
        try prepareSocketDirectory(helper, mode: 0o777)
        #expect(try helper.runExpectingExit() == 4, "\(helper.log)")
        #expect(!FileManager.default.fileExists(atPath: helper.socketPath))
        #expect(helper.log.contains("chmod go-w"))
    }

    /// Sticky or not: the socket's own directory must not be writable by others at all.
    @Test func aStickySocketDirectoryStillStopsTheHelper() throws {
        let helper = try HelperProcess()
        try prepareSocketDirectory(helper, mode: 0o1777)
        #expect(try helper.runExpectingExit() == 4, "\(helper.log)")
    }

    @Test func aWritableAncestorWithoutTheStickyBitStopsTheHelper() throws {
        let helper = try HelperProcess()
        #expect(chmod(helper.root + "/run", 0o777) == 0)
        #expect(try helper.runExpectingExit() == 4, "\(helper.log)")
        // A sticky ancestor (as /tmp) is fine: nobody can rename what they do not own there.
        #expect(chmod(helper.root + "/run", 0o1777) == 0)
        try helper.start()
        _ = try helper.client().sign(purposeBytes: EddsaSignRequest.purposeBytes(purpose: 0, body: [1]))
        #expect(helper.stop() == 0)
    }

    @Test func aSymlinkedSocketDirectoryStopsTheHelper() throws {
        let helper = try HelperProcess()
        let real = helper.root + "/elsewhere"
        try FileManager.default.createDirectory(atPath: real, withIntermediateDirectories: true)
        #expect(chmod(real, 0o750) == 0)
        try FileManager.default.createSymbolicLink(atPath: FileSystem.directoryName(of: helper.socketPath), withDestinationPath: real)
        #expect(try helper.runExpectingExit() == 4, "\(helper.log)")
    }

    /// A symlink on the way that another user owns: they can point it elsewhere at any time,
    /// even inside a sticky directory, so the helper refuses it.
    @Test(.enabled(if: TestUsers.canCreate, "needs root to give the symlink to another user"))
    func aSymlinkOnThePathOwnedByAnotherUserStopsTheHelper() throws {
        let probe = try HelperProcess()
        let real = probe.root + "/real-run"
        try FileManager.default.createDirectory(atPath: real, withIntermediateDirectories: true)
        let link = probe.root + "/linked-run"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: real)
        let helper = try HelperProcess(config: "UNIXPATH = \(link)/eddsa/server.sock")
        #expect(lchown(link, try TestUsers.stranger.uid, 0) == 0)
        #expect(try helper.runExpectingExit() == 4, "\(helper.log)")
        // Control: the same symlink owned by root is fine.
        #expect(lchown(link, 0, 0) == 0)
        try helper.start(waitForKeys: false)
        #expect(helper.waitForLog("listening on"), "\(helper.log)")
        #expect(helper.stop() == 0)
    }

    @Test(.enabled(if: TestUsers.canCreate, "needs root to give the directory to another user"))
    func aSocketDirectoryOwnedByAnotherUserStopsTheHelper() throws {
        let helper = try HelperProcess()
        try prepareSocketDirectory(helper, mode: 0o750, owner: try TestUsers.stranger.uid)
        #expect(try helper.runExpectingExit() == 4, "\(helper.log)")
        #expect(helper.log.contains("uid \(try TestUsers.stranger.uid)"))
    }

    /// The client's side: a socket that answers, in a directory anyone can write, is refused
    /// before anything is sent, with the `permission` code.
    @Test(arguments: [HelperTransport.datagram, .stream])
    func theClientRefusesASocketInAWritableDirectory(transport: HelperTransport) throws {
        let key = ClientTrustTests.newKey()
        let fake = try FakeHelper(transport: transport, dump: ClientTrustTests.eddsaDump(announcing: key)) { _ in [] }
        defer { fake.stop() }
        // Control: in its 0755 directory the fake is accepted.
        try EddsaHelperClient(socketPath: fake.socketPath, transport: transport).connect(timeout: .seconds(10))
        #expect(chmod(fake.directory, 0o777) == 0)
        do {
            try EddsaHelperClient(socketPath: fake.socketPath, transport: transport).connect(timeout: .seconds(10))
            Issue.record("the client talked to a socket in a 0777 directory")
        } catch {
            #expect(error.code == .permission)
        }
    }

    @Test(.enabled(if: TestUsers.canCreate, "needs root to give the directory to another user"),
          arguments: [HelperTransport.datagram, .stream])
    func theClientRefusesASocketInADirectoryAnotherUserOwns(transport: HelperTransport) throws {
        let key = ClientTrustTests.newKey()
        let fake = try FakeHelper(transport: transport, dump: ClientTrustTests.eddsaDump(announcing: key)) { _ in [] }
        defer { fake.stop() }
        #expect(chown(fake.directory, try TestUsers.stranger.uid, 0) == 0)
        do {
            try EddsaHelperClient(socketPath: fake.socketPath, transport: transport).connect(timeout: .seconds(10))
            Issue.record("the client talked to a socket in a directory owned by another user")
        } catch {
            #expect(error.code == .permission)
        }
    }
}

/// No log line carries bytes someone else chose unescaped: a newline cannot forge a line,
/// an ESC cannot reach the operator's terminal.
@Suite struct LogEscapingTests {
    @Test func aKeyFileNameWithANewlineAndEscapeIsLoggedEscaped() throws {
        let helper = try HelperProcess()
        try FileManager.default.createDirectory(atPath: helper.keyDirectory, withIntermediateDirectories: true)
        #expect(chmod(helper.keyDirectory, 0o700) == 0)
        let evil = "1\n2026-01-01T00:00:00.000Z taler-exchange-secmod-eddsa-1 ERROR FORGED \u{1b}[2J"
        #expect(FileManager.default.createFile(atPath: helper.keyDirectory + "/" + evil, contents: Data([1])))
        try helper.start()
        #expect(helper.waitForLog("FORGED"))
        let bytes = Array(helper.log.utf8)
        #expect(!bytes.contains(0x1B), "a raw ESC reached the log")
        let lines = helper.log.split(separator: "\n")
        #expect(!lines.contains { $0.hasPrefix("2026-01-01") }, "a forged line reached the log")
        #expect(lines.contains { $0.contains("skipping") && $0.contains("\\x0a2026-01-01") && $0.contains("\\x1b[2J") })
        #expect(helper.stop() == 0)
    }

    @Test func aSectionNameWithAnEscapeIsLoggedEscaped() throws {
        let section = "coin_\u{1b}[31mred"
        let helper = try HelperProcess(.rsa(denominations: [(section, "1 minute", 1024)]))
        try helper.start()
        #expect(helper.waitForLog("created"))
        #expect(!Array(helper.log.utf8).contains(0x1B), "a raw ESC reached the log")
        #expect(helper.log.contains("coin_\\x1b[31mred"))
        #expect(helper.stop() == 0)
    }
}
