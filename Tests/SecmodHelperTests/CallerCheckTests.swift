import Foundation
import SecmodClient
import SecmodWire
import Testing

/// Issue 6, point 2: CLIENT_USERS and CLIENT_GROUPS, proven with real second and third
/// UIDs. Both test clients are in the socket file's group, so the file mode lets both in;
/// only the allow-list tells them apart. Root stays on the list so that the fixture can see
/// the helper come up.
@Suite(.enabled(if: TestUsers.canCreate, "needs root to create test users"))
struct CallerCheckTests {
    /// `secmod keys` as `account`: exit 0 and a key line when served.
    private func listKeys(_ helper: HelperProcess, as account: TestUsers.Account, timeout: Int = 5) -> (status: Int32, output: String) {
        TestUsers.run(as: account, HelperProcess.binary("secmod"),
                      ["keys", "--helper", "eddsa", "-c", helper.configPath, "--timeout", String(timeout)])
    }

    @Test(arguments: [HelperTransport.datagram, .stream])
    func clientUsersAdmitsOnlyThoseNamed(transport: HelperTransport) throws {
        let helper = try HelperProcess(transport: transport, config: "CLIENT_USERS = root secmod-test-client")
        try helper.start(as: TestUsers.helper)
        let client = try TestUsers.client, stranger = try TestUsers.stranger

        let served = listKeys(helper, as: client)
        #expect(served.status == 0, "\(served.output)\n\(helper.log)")
        let refused = listKeys(helper, as: stranger, timeout: 2)
        #expect(refused.status != 0, "\(refused.output)")
        #expect(helper.waitForLog("refused a caller not in CLIENT_USERS/CLIENT_GROUPS"))
        #expect(helper.log.contains("uid \(stranger.uid)"))
        // The helper keeps serving the others.
        #expect(listKeys(helper, as: client).status == 0)
        #expect(helper.isRunning)
    }

    @Test(arguments: [HelperTransport.datagram, .stream])
    func clientGroupsAdmitsSupplementaryMembers(transport: HelperTransport) throws {
        let helper = try HelperProcess(transport: transport, config: "CLIENT_USERS = root\nCLIENT_GROUPS = secmod-test-signers")
        try helper.start(as: TestUsers.helper)
        #expect(listKeys(helper, as: try TestUsers.client).status == 0, "\(helper.log)")
        #expect(listKeys(helper, as: try TestUsers.stranger, timeout: 2).status != 0)
        #expect(helper.waitForLog("refused a caller"))
    }

    /// Control: without an allow-list the same stranger is served, so the refusals above are
    /// the allow-list's doing, not the socket file's mode.
    @Test func withoutAListTheSocketModeDecides() throws {
        let helper = try HelperProcess()
        try helper.start(as: TestUsers.helper)
        let served = listKeys(helper, as: try TestUsers.stranger)
        #expect(served.status == 0, "\(served.output)\n\(helper.log)")
        #expect(!helper.log.contains("refused a caller"))
    }

    /// The allowed client hands its session (its end of the socket pair, SCM_RIGHTS) to a
    /// process of another user. The helper pinned the uid of the INIT, so that user's
    /// request, which carries its own credentials, gets no signature: the helper closes the
    /// session (dgram-transport.md §5). Handed to the client's own user instead (control), the
    /// same request is answered.
    @Test func aPassedSessionSocketDoesNotCarryTheOwnersRights() throws {
        try passASession(config: "CLIENT_USERS = root secmod-test-client")
    }

    /// The same without any allow-list, the default configuration: every user in the socket
    /// file's group may open a session of their own, but a session that someone else opened
    /// and then leaked is worth nothing to them.
    @Test func aPassedSessionSocketIsWorthNothingWithoutAnAllowList() throws {
        try passASession(config: "")
    }

    private func passASession(config: String) throws {
        let helper = try HelperProcess(config: config)
        try helper.start(as: TestUsers.helper)
        let probe = try Probes.binary("passed-socket-probe").get()
        let client = try TestUsers.client, stranger = try TestUsers.stranger
        let request = hexString(EddsaSignRequest.encode(purposeBytes: EddsaSignRequest.purposeBytes(purpose: 0, body: [1, 2, 3])))
        func handOver(to sender: TestUsers.Account) -> String {
            let run = GnunetReferee.run(probe, [helper.socketPath, String(client.uid), String(client.gid),
                                                String(sender.uid), String(sender.gid), request])
            #expect(run.status == 0, "\(run.output)")
            return run.output
        }
        #expect(handOver(to: client) == "reply 17", "\(helper.log)")
        #expect(handOver(to: stranger) == "closed", "\(helper.log)")
        // The helper names the intruder: the uid and pid of the message it refused.
        #expect(helper.waitForLog("uid \(stranger.uid) gid"), "\(helper.log)")
        // Still serving, and the owner's next session works.
        #expect(handOver(to: client) == "reply 17")
        #expect(helper.isRunning)
    }

    @Test func anUnknownNameIsAConfigurationError() throws {
        let helper = try HelperProcess(config: "CLIENT_USERS = secmod-test-nosuchuser")
        #expect(try helper.runExpectingExit() == 6)
        #expect(helper.log.contains("CLIENT_USERS: no user 'secmod-test-nosuchuser'"))
    }
}
