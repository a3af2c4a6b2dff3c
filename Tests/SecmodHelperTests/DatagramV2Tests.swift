import Foundation
import SecmodBase
import SecmodClient
import SecmodCrypto
import SecmodSystem
import SecmodWire
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The datagram transport, version 2 (docs/spec/dgram-transport.md), attacked from outside
/// with real processes over real sockets. The client is Tests/Probes/dgram-v2-client.c, written
/// from the spec alone, so that our own client library cannot hide a mistake it shares with
/// the helper.
@Suite struct DatagramV2Tests {
    // MARK: An independent client

    /// dgram-transport.md §4 and §5 from the client's side: the C client handshakes, checks that every message
    /// carries the credentials of the socket file's owner, and gets a signature that verifies
    /// under a key the helper announced: the same keys our own client sees.
    @Test func theIndependentClientSignsWithTheEddsaHelper() throws {
        let helper = try HelperProcess()
        try helper.start()
        try signWithTheIndependentClient(helper, as: nil)
    }

    /// The same with the helper and the client as two different users, so that the client's
    /// credential check compares two different uids (the socket file's owner is the helper's).
    @Test(.enabled(if: TestUsers.canCreate, "needs root to create test users"))
    func theIndependentClientSignsAsAnotherUser() throws {
        let helper = try HelperProcess()
        try helper.start(as: TestUsers.helper)
        try signWithTheIndependentClient(helper, as: TestUsers.client)
    }

    private func signWithTheIndependentClient(_ helper: HelperProcess, as user: TestUsers.Account?) throws {
        let purposeBytes = EddsaSignRequest.purposeBytes(purpose: 1, body: randomBytes(32))
        let run = ProbeRun(["sign", helper.socketPath, "eddsa", hexString(EddsaSignRequest.encode(purposeBytes: purposeBytes))],
                           as: user)
        #expect(run.status == 0, "\(run.output)\n\(helper.log)")
        let avails = try run.values("avail").map { try EddsaKeyAvailable.decode(bytes(fromHex: $0)) }
        #expect(!avails.isEmpty)
        #expect(run.values("synced") == [String(avails.count)])
        let reply = try #require(run.values("reply").first?.split(separator: " "), "\(run.output)")
        #expect(reply.first == "17")
        let signature = try EddsaSignature.decode(bytes(fromHex: String(try #require(reply.last))))
        #expect(avails.contains { $0.exchangePublicKey == signature.publicKey })
        #expect(Ed25519.verify(signature: signature.signature, message: purposeBytes, publicKey: signature.publicKey))
        let ours = try helper.client()
        #expect(Set(ours.keys.map(\.publicKey)) == Set(avails.map(\.exchangePublicKey)))
    }

    /// The RSA helper: INIT type 4, the dump of AVAILs through SYNCED (type 10), and a blind
    /// signature (type 7) with `s^e mod n = m`.
    @Test func theIndependentClientSignsWithTheRsaHelper() throws {
        let helper = try HelperProcess(.rsa(denominations: RsaHelperTests.coin))
        try helper.start()
        let ours = try helper.rsaClient()
        let now = Timestamp(microseconds: Clock.wallMicroseconds())
        let key = try #require(ours.keys.first { $0.anchor <= now })
        let m = try RsaHelperTests.blindable(key)
        let run = ProbeRun(["sign", helper.socketPath, "rsa", hexString(RsaSignRequest.encode(hash: key.hash, blindedMessage: m))])
        #expect(run.status == 0, "\(run.output)\n\(helper.log)")
        let avails = try run.values("avail").map { try RsaKeyAvailable.decode(bytes(fromHex: $0)) }
        #expect(run.values("synced") == [String(avails.count)])
        #expect(Set(avails.map(\.publicKey)) == Set(ours.keys.map(\.publicKey)))
        let reply = try #require(run.values("reply").first?.split(separator: " "), "\(run.output)")
        #expect(reply.first == "7")
        let signature = try RsaSignature.decode(bytes(fromHex: String(try #require(reply.last))))
        #expect(try RsaPublicKey(encoded: key.publicKey).verifyRaw(signature: signature, message: m))
    }

    // MARK: Bad INITs (dgram-transport.md §4.2)

    struct BadInit: Sendable, CustomTestStringConvertible {
        let family: String
        let kind: String
        var testDescription: String { "\(family) \(kind)" }
        /// Whether the INIT carries descriptors that the helper has to close.
        var passesDescriptors: Bool { kind != "no-fd" && kind != "garbage" }
    }

    /// Every INIT that dgram-transport.md §4.2 says is dropped (and a few that break §6.1's framing), each with a
    /// fresh helper so that its rate-limited log line is the first of its kind.
    static let badInits: [BadInit] =
        ["no-fd", "two-fds", "many-fds", "pipe", "file", "dgram-pair", "stream-pair", "unconnected-seqpacket",
         "listening-seqpacket", "tcp", "body", "wrong-type", "cs-type", "short", "empty", "size-mismatch", "oversize",
         "garbage"].map { BadInit(family: "eddsa", kind: $0) }
        + ["wrong-type", "body", "two-fds", "dgram-pair"].map { BadInit(family: "rsa", kind: $0) }

    /// A bad INIT opens no session and answers nothing, neither on what it passed nor to its
    /// sender; the helper closes everything passed with it (the probe sees end of file on the
    /// kept ends, the passed sockets leave /proc/net/unix, the passed file is closed), keeps
    /// no descriptor of it, logs the sender's uid and pid but none of its bytes, and serves
    /// the next client.
    @Test(arguments: badInits)
    func aBadInitOpensNoSessionAndKeepsNothing(_ bad: BadInit) throws {
        let helper = try bad.family == "rsa" ? HelperProcess(.rsa(denominations: RsaHelperTests.coin)) : HelperProcess()
        try helper.start()
        let before = Self.settledDescriptors(helper)
        let run = ProbeRun(["bad-init", helper.socketPath, bad.family, bad.kind])
        #expect(run.status == 0, "\(run.output)\n\(helper.log)")
        #expect(run.values("passed") == [bad.passesDescriptors ? "closed" : "none"], "\(run.output)")
        #expect(run.values("answered") == ["nothing"], "\(run.output)")
        let pid = try #require(run.values("pid").first)
        #expect(Self.waitForLogLine(helper) { $0.contains("WARNING") && $0.contains("pid \(pid) uid \(geteuid()) gid") },
                "\(helper.log)")
        #expect(!helper.log.contains("x-secmod-garbage-marker"))
        Self.expectDescriptors(helper, backTo: before)
        try Self.expectServed(helper, family: bad.family)
        #expect(helper.isRunning)
    }

    /// A caller the allow-list refuses sends a well-formed INIT: its session is closed
    /// unanswered, so it learns nothing, not even which keys exist.
    @Test(.enabled(if: TestUsers.canCreate, "needs root to create test users"))
    func aRefusedCallersSessionIsClosedUnanswered() throws {
        let helper = try HelperProcess(config: "CLIENT_USERS = root secmod-test-client")
        try helper.start(as: TestUsers.helper)
        let before = Self.settledDescriptors(helper)
        let stranger = try TestUsers.stranger
        let run = ProbeRun(["bad-init", helper.socketPath, "eddsa", "refused"], as: stranger)
        #expect(run.status == 0, "\(run.output)\n\(helper.log)")
        #expect(run.values("passed") == ["closed"])
        #expect(run.values("answered") == ["nothing"])
        #expect(helper.waitForLog("uid \(stranger.uid) gid"))
        Self.expectDescriptors(helper, backTo: before)
        try Self.expectServed(helper, family: "eddsa")
    }

    /// A pair end whose other end is already closed is connected as far as `getpeername`
    /// knows, so the helper may adopt it; it must let go of it at once (dgram-transport.md §7.2).
    /// A session socket must be a pair the sender's own user made: a socket connected to
    /// another user's service is refused, so the helper never writes its announcements,
    /// with its own credentials, into someone else's service.
    @Test(.enabled(if: TestUsers.canCreate, "needs root to run a service as another user"))
    func aSocketConnectedToAnotherUsersServiceIsNoSession() throws {
        let helper = try HelperProcess()
        try helper.start()
        let name = "secmod-test-service-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let stranger = try TestUsers.stranger
        let service = try HeldProbe(["squat", name], as: stranger)
        _ = try #require(service.waitForLine("bound"), "\(service.output)")
        let connected = try UnixSocket(.seqpacket)
        try connected.connect(to: UnixAddress(abstract: Array(name.utf8)))
        // Settled: the start-up probe's session must be closed before counting.
        let before = Self.settledDescriptors(helper)
        try UnixSocket(.datagram).send([0, 4, 0, 14], to: UnixAddress(path: helper.socketPath), passing: connected)
        #expect(helper.waitForLog("connected to uid \(stranger.uid)"), "\(helper.log)")
        Self.expectDescriptors(helper, backTo: before)
        _ = try helper.client().sign(purpose: 1, body: [1])
        _ = service.finish()
        #expect(helper.stop() == 0)
    }

    @Test func aSessionWhosePeerIsAlreadyGoneIsReleased() throws {
        let helper = try HelperProcess()
        try helper.start()
        let before = Self.settledDescriptors(helper)
        let run = ProbeRun(["bad-init", helper.socketPath, "eddsa", "dead-pair"])
        #expect(run.status == 0, "\(run.output)\n\(helper.log)")
        #expect(run.values("passed") == ["closed"])
        Self.expectDescriptors(helper, backTo: before)
        try Self.expectServed(helper, family: "eddsa")
    }

    /// Both ends of one pair, passed in two INITs: the helper's two sessions talk to each
    /// other. Every message on them carries the helper's own uid, not the pinned client's, so
    /// both close (dgram-transport.md §5) instead of holding descriptors that no client can ever close. (A client
    /// that runs as the helper's own uid passes that check: its two joined sessions then stay
    /// open and idle, the helper dropping the AVAIL and SYNCED they bounce back, until
    /// MAX_SESSIONS evicts them. Not tested here: the spec does not say otherwise.)
    @Test(.enabled(if: TestUsers.canCreate, "needs root to create test users"))
    func twoSessionsJoinedToEachOtherAreClosed() throws {
        let helper = try HelperProcess()
        try helper.start(as: TestUsers.helper)
        let before = Self.settledDescriptors(helper)
        let run = ProbeRun(["bad-init", helper.socketPath, "eddsa", "self-loop"], as: try TestUsers.client)
        #expect(run.status == 0, "\(run.output)\n\(helper.log)")
        #expect(run.values("passed") == ["closed"])
        Self.expectDescriptors(helper, backTo: before)
        try Self.expectServed(helper, family: "eddsa")
    }

    // MARK: Sessions that end oddly (dgram-transport.md §6.4, §7.2)

    /// SOCK_SEQPACKET allows an empty packet, and a read returns 0 bytes for it as for end
    /// of file. An empty packet is too short to be a message: it is dropped (dgram-transport.md §6.4) and the
    /// session goes on.
    @Test func anEmptyPacketDoesNotEndTheSession() throws {
        let helper = try HelperProcess()
        try helper.start()
        let raw = try RawClient()
        _ = try raw.handshake(socketPath: helper.socketPath)
        try raw.send([])
        try raw.send(EddsaSignRequest.encode(purposeBytes: EddsaSignRequest.purposeBytes(purpose: 0, body: [1])))
        let reply = try #require(try raw.receive(seconds: 10))
        #expect(reply.bytes.count == EddsaSignature.byteCount && reply.bytes[3] == 17, "\(reply.bytes.prefix(8))")
        #expect(helper.isRunning)
    }

    /// A client that shuts down only its sending side leaves the helper's end readable for
    /// ever (every read returns 0 bytes, and no POLLHUP comes): the helper must close that
    /// session rather than read it in a loop, and let go of its descriptor.
    @Test func aHalfClosedSessionIsClosed() throws {
        let helper = try HelperProcess()
        try helper.start()
        let before = Self.settledDescriptors(helper)
        let raw = try RawClient()
        _ = try raw.handshake(socketPath: helper.socketPath)
        let session = try #require(raw.session)
        #expect(shutdown(session.socket.rawValue, Int32(SHUT_WR)) == 0)
        let end = try raw.receive(seconds: 10)
        #expect(end?.bytes.isEmpty == true, "the helper kept a half-closed session open")
        Self.expectDescriptors(helper, backTo: before)
        try Self.expectServed(helper, family: "eddsa")
    }

    /// A flood of sessions that their client keeps open costs the helper at most
    /// MAX_SESSIONS of them (dgram-transport.md §7.2): each new INIT at the bound closes the session idle
    /// longest, whose client sees end of file, and the newest are served.
    @Test func sessionsAreBoundedByMaxSessions() throws {
        let bound = 8
        let helper = try HelperProcess(config: "MAX_SESSIONS = \(bound)")
        try helper.start()
        let before = Self.settledDescriptors(helper)
        var clients: [RawClient] = []
        for _ in 0..<40 {
            let raw = try RawClient()
            _ = try raw.handshake(socketPath: helper.socketPath)
            clients.append(raw)
        }
        _ = Self.settledDescriptors(helper, openSessions: bound)
        if let before {
            let deadline = Date().addingTimeInterval(5)
            while Self.lastingDescriptors(helper)?.count != before.count + bound, Date() < deadline { usleep(10_000) }
            #expect(Self.lastingDescriptors(helper)?.count == before.count + bound)
        }
        for raw in clients.prefix(clients.count - bound) {
            #expect(try raw.receive(seconds: 10)?.bytes.isEmpty == true, "an evicted session was not closed")
        }
        let request = EddsaSignRequest.encode(purposeBytes: EddsaSignRequest.purposeBytes(purpose: 0, body: [5]))
        for raw in clients.suffix(bound) {
            try raw.send(request)
            #expect(try raw.receive(seconds: 10)?.bytes[3] == 17)
        }
        try Self.expectServed(helper, family: "eddsa")
    }

    // MARK: No abstract addresses (dgram-transport.md §2.5)

    @Suite(.serialized) struct AbstractNames {
        /// Many clients, ours and the independent one, come and go; some stay connected. Then
        /// no abstract name that any of them, or the helper, carries takes a connection or a
        /// datagram, and every socket of the helper, of the test process and of the connected
        /// C clients that carries an abstract name is a connected SOCK_SEQPACKET socket (the
        /// kernel's autobind name of a session end, which dgram-transport.md §2.5 allows).
        @Test func noAbstractNameTakesAConnectionOrADatagram() throws {
            let baseline = Set(UnixSocketTable.read().map(\.inode))
            let helper = try HelperProcess()
            try helper.start()
            let request = hexString(EddsaSignRequest.encode(purposeBytes: EddsaSignRequest.purposeBytes(purpose: 0, body: [7])))
            var kept: [EddsaHelperClient] = []
            var held: [HeldProbe] = []
            defer { for probe in held { _ = probe.finish() } }
            for i in 0..<25 {
                let client = try helper.client()
                _ = try client.sign(purpose: 0, body: [UInt8(i)])
                if i % 3 == 0 { kept.append(client) } else { client.disconnect() }
            }
            for i in 0..<25 {
                if i % 3 == 0 {
                    let probe = try HeldProbe(["sign", helper.socketPath, "eddsa", request, "hold"])
                    held.append(probe)
                    #expect(probe.waitForLine("holding") != nil, "\(probe.output)")
                } else {
                    let run = ProbeRun(["sign", helper.socketPath, "eddsa", request])
                    #expect(run.status == 0, "\(run.output)")
                }
            }
            // The helper has closed the sessions of the clients that left, and only those.
            _ = DatagramV2Tests.settledDescriptors(helper, openSessions: kept.count + held.count)

            let table = UnixSocketTable.read()
            let ours = [helper.pid, getpid()] + held.map(\.pid)
            var owner: [UInt64: Int32] = [:]
            for pid in ours { for inode in socketInodes(of: pid) { owner[inode] = pid } }
            for row in table where row.isAbstract {
                // The test process also holds the sockets of tests running beside this one
                // (fakes, raw probes): for it, only its session ends must be connected
                // seqpacket; every abstract name, its own included, is probed below.
                if let pid = owner[row.inode], pid != getpid() || row.type == 5 {
                    #expect(row.type == 5 && row.state == 3, "pid \(pid) holds \(row.line)")
                }
            }
            // The helper's sockets: its main socket, by path, and one session per client still
            // here. Only root can list them: the helper makes itself non-dumpable, which gives
            // its /proc entries to root; without root, the checks below still cover its
            // sockets through the names that appeared since the test began.
            let helperVisible = descriptorCount(helper.pid) != nil
            if geteuid() == 0 { #expect(helperVisible) }
            if helperVisible {
                let helperRows = table.filter { owner[$0.inode] == helper.pid }
                let main = helperRows.filter { $0.path.replacingOccurrences(of: "//", with: "/") == helper.socketPath }
                #expect(main.map(\.type) == [2], "\(helperRows.map(\.line))")
                #expect(helperRows.filter { $0.type == 5 && $0.state == 3 }.count == kept.count + held.count,
                        "\(helperRows.map(\.line))")
                // Anything else it holds has no name at all (what it inherited from the test runner).
                for row in helperRows where !(row.type == 5 && row.state == 3) && row.inode != main.first?.inode {
                    #expect(row.path.isEmpty, "the helper holds \(row.line)")
                }
            }

            // Every abstract name of ours, and every one that appeared since the test began and
            // does not belong to a process outside this test's process tree.
            let foreign = foreignOwners(of: Set(table.map(\.inode)).subtracting(baseline).subtracting(owner.keys))
            let candidates = table.filter { $0.isAbstract && (owner[$0.inode] != nil || (!baseline.contains($0.inode) && !foreign.contains($0.inode))) }
            // Both ends of every session still open carry the kernel's autobind name.
            #expect(candidates.count >= 2 * (kept.count + held.count), "\(candidates.map(\.line))")
            for row in candidates {
                let answered = whatAnswers(row.abstractName)
                #expect(answered.isEmpty, "\(row.line) took \(answered)")
            }
            // Everyone still connected is still served.
            for client in kept { _ = try client.sign(purpose: 0, body: [1]) }
            #expect(helper.isRunning)
        }

        /// Version 1's attack (dgram-transport.md §1, §2.5): a user with no access to the socket file binds the
        /// abstract names that departed clients (and the helper's ends of their sessions)
        /// carried, while the helper pushes key changes and serves a new client. Nothing is
        /// sent to those names, and nobody connects to them.
        @Test func aDepartedClientsNamesInheritNothing() throws {
            let helper = try HelperProcess()
            try helper.start()
            let witness = try helper.client()
            let request = hexString(EddsaSignRequest.encode(purposeBytes: EddsaSignRequest.purposeBytes(purpose: 0, body: [9])))
            var names = Set<String>()
            func collect(_ pids: [Int32]) {
                let table = UnixSocketTable.read()
                var inodes = Set<UInt64>()
                for pid in pids { inodes.formUnion(socketInodes(of: pid)) }
                for row in table where row.isAbstract && inodes.contains(row.inode) { names.insert(row.abstractNameText) }
            }
            for i in 0..<10 {
                let client = try helper.client()
                _ = try client.sign(purpose: 0, body: [UInt8(i)])
                collect([getpid(), helper.pid])
                client.disconnect()
            }
            for _ in 0..<5 {
                let probe = try HeldProbe(["sign", helper.socketPath, "eddsa", request, "hold"])
                #expect(probe.waitForLine("holding") != nil, "\(probe.output)")
                collect([probe.pid, helper.pid])
                #expect(probe.finish().status == 0)
            }
            _ = DatagramV2Tests.settledDescriptors(helper, openSessions: 1)
            let live = Set(UnixSocketTable.read().filter(\.isAbstract).map(\.abstractNameText))
            let departed = names.subtracting(live).sorted()
            // Both ends of every departed session, or only the clients' ends when the helper's
            // /proc entries cannot be read (not root).
            #expect(departed.count >= (descriptorCount(helper.pid) != nil ? 30 : 15), "\(names.count) names, \(departed.count) departed")

            let squatter = try HeldProbe(["squat"] + departed, as: TestUsers.canCreate ? try TestUsers.stranger : nil)
            let bound = try #require(squatter.waitForLine("bound"), "\(squatter.output)")
            #expect(bound.hasPrefix("bound dgram \(departed.count) "), "\(bound)")

            // Key changes are pushed to every session: revoke one key and wait for its PURGE.
            let revoked = try #require(witness.keys.first).publicKey
            var purged = false
            witness.onKeyEvent = { if case let .purged(key) = $0, key == revoked { purged = true } }
            try witness.revoke(publicKey: revoked)
            let deadline = Date().addingTimeInterval(10)
            while !purged, Date() < deadline { try witness.waitForEvents(for: .seconds(0.5)) }
            #expect(purged)
            // A new client gets a dump and a signature.
            let fresh = try helper.client()
            _ = try fresh.sign(purpose: 0, body: [1])
            _ = try witness.sign(purpose: 0, body: [2])

            let result = squatter.finish()
            #expect(result.status == 0, "\(result.output)")
            #expect(result.output.contains("received 0 accepted 0"), "\(result.output)")
        }
    }

    // MARK: Support

    /// The helper's lasting descriptors once exactly `openSessions` of the sessions it opened
    /// are still open, as its log says. Nil when /proc/<pid>/fd cannot be read: the helper
    /// makes itself non-dumpable, which gives its /proc entries to root, so only root can
    /// count (CI runs as root).
    static func settledDescriptors(_ helper: HelperProcess, openSessions: Int = 0) -> [String]? {
        let deadline = Date().addingTimeInterval(10)
        while openSessionCount(helper.log) != openSessions, Date() < deadline { usleep(10_000) }
        #expect(openSessionCount(helper.log) == openSessions, "\(helper.log)")
        let lasting = lastingDescriptors(helper)
        if geteuid() == 0 { #expect(lasting != nil, "cannot read /proc/\(helper.pid)/fd as root") }
        return lasting
    }

    /// What the helper's descriptors point at, sorted, leaving out the key store's working
    /// files: the key maintainer opens a key file, or a directory to fsync, for a moment at
    /// any time (CI once counted one such at the baseline and then missed it). The locks on
    /// the key and audit directories stay in: they last as long as the helper.
    static func lastingDescriptors(_ helper: HelperProcess) -> [String]? {
        guard let fds = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(helper.pid)/fd") else { return nil }
        let store = helper.root + "/home/taler/"
        return fds.map { fdTarget(helper.pid, $0) }
            .filter { $0 != "?" && (!$0.hasPrefix(store) || $0.hasSuffix("/.secmod-lock")) }
            .sorted()
    }

    /// Waits until the helper holds exactly the lasting descriptors it held `before` (it
    /// closes a session on POLLHUP, a moment after the client went away): the same count and
    /// the same sockets, pipes and files, so that a kept descriptor cannot hide behind one
    /// that closed. Skipped when not root: see above.
    static func expectDescriptors(_ helper: HelperProcess, backTo before: [String]?) {
        guard let before else { return }
        _ = settledDescriptors(helper)
        let deadline = Date().addingTimeInterval(5)
        while lastingDescriptors(helper) != before, Date() < deadline { usleep(10_000) }
        #expect(lastingDescriptors(helper) == before, "descriptors before: \(before), now: \(lastingDescriptors(helper) ?? [])")
    }

    /// A client of our library handshakes and gets a signature that it verifies.
    static func expectServed(_ helper: HelperProcess, family: String) throws {
        if family == "rsa" {
            let client = try helper.rsaClient()
            let now = Timestamp(microseconds: Clock.wallMicroseconds())
            let key = try #require(client.keys.first { $0.anchor <= now })
            _ = try client.sign(hash: key.hash, blindedMessage: try RsaHelperTests.blindable(key))
        } else {
            _ = try helper.client().sign(purpose: 0, body: [1, 2, 3])
        }
    }

    /// Sessions opened and not yet closed, from the helper's INFO lines
    /// "session N opened" and "session N closed".
    static func openSessionCount(_ log: String) -> Int {
        var open = Set<Int>()
        for line in log.split(separator: "\n") {
            guard let range = line.range(of: "session ") else { continue }
            let rest = line[range.upperBound...]
            let digits = rest.prefix { $0.isNumber }
            guard let id = Int(digits) else { continue }
            let after = rest.dropFirst(digits.count)
            if after.hasPrefix(" opened") { open.insert(id) } else if after.hasPrefix(" closed") { open.remove(id) }
        }
        return open.count
    }

    static func waitForLogLine(_ helper: HelperProcess, seconds: Double = 10, _ matches: (Substring) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if helper.log.split(separator: "\n").contains(where: matches) { return true }
            usleep(20_000)
        }
        return false
    }
}

// MARK: - Running the C client

/// One run of Tests/Probes/dgram-v2-client to completion, as root or as a test user.
struct ProbeRun {
    let status: Int32
    let output: String

    init(_ arguments: [String], as user: TestUsers.Account? = nil) {
        let probe: String
        do { probe = try Probes.binary("dgram-v2-client").get() } catch {
            status = 127
            output = "\(error)"
            return
        }
        let result = user.map { TestUsers.run(as: $0, probe, arguments) } ?? GnunetReferee.run(probe, arguments)
        status = result.status
        output = result.output
    }

    /// The rest of every output line that starts with `key` and a space.
    func values(_ key: String) -> [String] {
        output.split(separator: "\n").compactMap { line in
            line.hasPrefix(key + " ") ? String(line.dropFirst(key.count + 1)) : nil
        }
    }
}

/// A dgram-v2-client that keeps running (`sign … hold`, `squat`) until its standard input
/// closes; its output is read line by line.
final class HeldProbe {
    private let process = Process()
    private let input = Pipe()
    private let outputPipe = Pipe()
    private(set) var output = ""

    init(_ arguments: [String], as user: TestUsers.Account? = nil) throws {
        let probe = try Probes.binary("dgram-v2-client").get()
        if let user {
            let (tool, full) = TestUsers.command(as: user, probe, arguments)
            process.executableURL = URL(fileURLWithPath: tool)
            process.arguments = full
        } else {
            process.executableURL = URL(fileURLWithPath: probe)
            process.arguments = arguments
        }
        process.standardInput = input
        process.standardOutput = outputPipe
        process.standardError = outputPipe
        try process.run()
    }

    deinit {
        // A probe that was never finished still gets end of file, and exits.
        try? input.fileHandleForWriting.close()
    }

    var pid: Int32 { process.processIdentifier }

    /// The first output line that starts with `prefix`, waiting up to `seconds` for it; nil
    /// when it does not come (the probe exited, or took too long).
    func waitForLine(_ prefix: String, seconds: Double = 20) -> String? {
        let fd = outputPipe.fileHandleForReading.fileDescriptor
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            if let line = output.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) { return String(line) }
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { return nil }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, Int32(left * 1000)) > 0 else { return nil }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = read(fd, &buffer, buffer.count)
            guard n > 0 else { return nil }
            output += String(decoding: buffer[0..<n], as: UTF8.self)
        }
    }

    /// Closes its standard input and waits for it to exit.
    func finish() -> (status: Int32, output: String) {
        try? input.fileHandleForWriting.close()
        let rest = outputPipe.fileHandleForReading.readDataToEndOfFile()
        output += String(decoding: rest, as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }
}

// MARK: - /proc

/// A row of /proc/net/unix.
struct UnixSocketRow {
    let inode: UInt64
    /// SOCK_STREAM 1, SOCK_DGRAM 2, SOCK_SEQPACKET 5.
    let type: Int
    /// SS_UNCONNECTED 1, SS_CONNECTING 2, SS_CONNECTED 3.
    let state: Int
    /// A path, "@name" for an abstract name (every NUL shown as '@'), or "" without a name.
    let path: String
    let line: String

    var isAbstract: Bool { path.hasPrefix("@") }
    /// The name after its leading NUL, as text (autobind names are five hex digits).
    var abstractNameText: String { String(path.dropFirst()) }
    var abstractName: [UInt8] { Array(abstractNameText.utf8).map { $0 == UInt8(ascii: "@") ? 0 : $0 } }
}

enum UnixSocketTable {
    static func read() -> [UnixSocketRow] {
        // Read to the end: String(contentsOfFile:) stops after the first page of a /proc file.
        guard let file = FileHandle(forReadingAtPath: "/proc/net/unix") else { return [] }
        defer { try? file.close() }
        let text = String(decoding: file.readDataToEndOfFile(), as: UTF8.self)
        return text.split(separator: "\n").dropFirst().compactMap { line in
            let fields = line.split(separator: " ", maxSplits: 7, omittingEmptySubsequences: true)
            guard fields.count >= 7, let type = Int(fields[4], radix: 16), let state = Int(fields[5], radix: 16),
                  let inode = UInt64(fields[6]) else { return nil }
            return UnixSocketRow(inode: inode, type: type, state: state, path: fields.count > 7 ? String(fields[7]) : "",
                                 line: String(line))
        }
    }
}

func descriptorCount(_ pid: Int32) -> Int? {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd"))?.count
}

func fdTarget(_ pid: Int32, _ fd: String) -> String {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)")) ?? "?"
}

/// The inodes of the sockets a process holds (`socket:[inode]` in /proc/<pid>/fd).
func socketInodes(of pid: Int32) -> Set<UInt64> {
    guard let fds = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd") else { return [] }
    var inodes = Set<UInt64>()
    for fd in fds {
        let target = fdTarget(pid, fd)
        if target.hasPrefix("socket:["), let inode = UInt64(target.dropFirst(8).dropLast()) { inodes.insert(inode) }
    }
    return inodes
}

/// Of `inodes`, those that a process outside this test's process tree holds (other users of
/// the machine: their sockets are not ours to judge).
func foreignOwners(of inodes: Set<UInt64>) -> Set<UInt64> {
    guard !inodes.isEmpty, let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
    var foreign = Set<UInt64>()
    for entry in entries {
        guard let pid = Int32(entry), !isInOurTree(pid) else { continue }
        foreign.formUnion(socketInodes(of: pid).intersection(inodes))
    }
    return foreign
}

private func isInOurTree(_ start: Int32) -> Bool {
    var pid = start
    for _ in 0..<64 {
        if pid == getpid() { return true }
        if pid <= 1 { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 1, let parent = Int32(fields[1]) else { return false }
        pid = parent
    }
    return false
}

/// What an abstract name takes: a SOCK_STREAM or SOCK_SEQPACKET connection, or a SOCK_DGRAM
/// datagram. Empty when it takes nothing. The probing sockets have no SO_PASSCRED, so they
/// get no name of their own.
func whatAnswers(_ name: [UInt8]) -> [String] {
    let address = UnixAddress(abstract: name)
    var answered: [String] = []
    for (kind, label) in [(UnixSocket.Kind.stream, "stream connect"), (.seqpacket, "seqpacket connect")] {
        guard let socket = try? UnixSocket(kind, nonBlocking: true) else {
            answered.append("\(label): no socket")
            continue
        }
        do throws(Errno) { try socket.connect(to: address); answered.append(label) } catch {
            // A listener whose backlog is full still exists.
            if error == .again { answered.append("\(label) (backlog full)") }
        }
    }
    if let socket = try? UnixSocket(.datagram) {
        do throws(Errno) {
            switch try socket.send([0, 4, 0, 14], to: address, blocking: false) {
            case .sent: answered.append("datagram")
            case .wouldBlock: answered.append("datagram (queue full)")
            }
        } catch {}
    }
    return answered
}

func bytes(fromHex text: String) -> [UInt8] {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(text.utf8.count / 2)
    var index = text.startIndex
    while index < text.endIndex, let next = text.index(index, offsetBy: 2, limitedBy: text.endIndex) {
        bytes.append(UInt8(text[index..<next], radix: 16) ?? 0)
        index = next
    }
    return bytes
}
