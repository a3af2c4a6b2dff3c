import Foundation
import SecmodAgentClient
import SecmodBase
import SecmodCrypto
import SecmodSystem
import SecmodWire
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The engine's protections in `secmod-agent`: LOCK/UNLOCK, ADD_IDENTITY refused, callers
/// refused by the kernel's credentials, oversize messages, a hanging token answered within
/// REQUEST_TIMEOUT while other clients are served.
@Suite(.serialized) struct AgentProtectionTests {
    static let wait = Duration.seconds(10)

    static func openAgent(extra: String = "") throws -> AgentProcess {
        try AgentProcess(keys: [.init(name: "any", lines: "ALGORITHM = ed25519\nPURPOSES = any")], config: extra)
    }

    static func signature(_ connection: SSHAgentConnection, _ key: AgentIdentity, _ data: [UInt8]) throws -> Bool {
        let sig = try connection.sign(keyBlob: key.blob, data: data, timeout: wait)
        guard case let .ed25519(publicKey)? = key.publicKey else { return false }
        return sig.algorithm == "ssh-ed25519" && Ed25519.verify(signature: sig.bytes, message: data, publicKey: publicKey)
    }

    @Test func lockStopsSigningUntilUnlockWithTheSamePassphrase() throws {
        let agent = try Self.openAgent()
        try agent.start()
        let c = agent.connection()
        let key = try #require(try c.identities(timeout: Self.wait).first)
        try c.lock(passphrase: Array("open sesame".utf8), timeout: Self.wait)
        // Locked: no keys listed (ssh-add too), nothing signed, a wrong passphrase refused.
        #expect(try c.identities(timeout: Self.wait).isEmpty)
        #expect(agent.run("/usr/bin/ssh-add", ["-L"]).status != 0)
        #expect(throws: SecmodError.self) { _ = try Self.signature(c, key, [1, 2, 3]) }
        #expect(throws: SecmodError.self) { try c.unlock(passphrase: Array("guess".utf8), timeout: Self.wait) }
        // Right after a wrong guess even the right passphrase waits out the back-off: poll
        // until it is accepted (0.5 s), which also shows the refusal did not last forever.
        let until = Clock.monotonicMicroseconds() + 5_000_000
        var unlocked = false
        while !unlocked, Clock.monotonicMicroseconds() < until {
            do { try c.unlock(passphrase: Array("open sesame".utf8), timeout: Self.wait); unlocked = true } catch {
                var polls = PollSet()
                _ = try polls.wait(timeoutMilliseconds: 100)
            }
        }
        #expect(unlocked)
        #expect(try Self.signature(c, key, [1, 2, 3]))
        let log = agent.log
        #expect(log.contains("locked by"))
        #expect(log.contains("refused (bad-passphrase)"))
        #expect(log.contains("unlocked by"))
        #expect(agent.stop() == 0)
    }

    @Test func addIdentityIsRefusedUnlessAllowed() throws {
        let agent = try Self.openAgent()
        try agent.start()
        let work = try agent.workDirectory(for: nil)
        let made = agent.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", work + "/mine"])
        #expect(made.status == 0, "\(made.output)")
        let added = agent.run("/usr/bin/ssh-add", [work + "/mine"])
        #expect(added.status != 0, "\(added.output)")
        #expect(try agent.connection().identities(timeout: Self.wait).count == 1)
        // REMOVE of a configured key is refused too.
        let listed = agent.run("/usr/bin/ssh-add", ["-L"]).output
        try listed.write(toFile: work + "/configured.pub", atomically: true, encoding: .utf8)
        #expect(agent.run("/usr/bin/ssh-add", ["-d", work + "/configured.pub"]).status != 0)
        #expect(agent.run("/usr/bin/ssh-add", ["-D"]).status != 0)
        #expect(try agent.connection().identities(timeout: Self.wait).count == 1)
        #expect(agent.log.contains("ALLOW_ADD is off"))
        #expect(agent.stop() == 0)
    }

    @Test func addedKeysLiveInMemoryForTheirOwnerOnly() throws {
        let agent = try Self.openAgent(extra: "ALLOW_ADD = yes")
        try agent.start()
        let work = try agent.workDirectory(for: nil)
        _ = agent.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "added-key", "-f", work + "/mine"])
        let added = agent.run("/usr/bin/ssh-add", ["-t", "600", work + "/mine"])
        #expect(added.status == 0, "\(added.output)")
        #expect(agent.run("/usr/bin/ssh-add", ["-L"]).output.contains("added-key"))
        let pub = try String(contentsOfFile: work + "/mine.pub", encoding: .utf8)
        // Nothing of it reached the key directory.
        let entries = try FileManager.default.subpathsOfDirectory(atPath: agent.root + "/keys")
        #expect(!entries.contains { $0.hasPrefix("added") })
        #expect(agent.run("/usr/bin/ssh-add", ["-d", work + "/mine.pub"]).status == 0)
        #expect(!agent.run("/usr/bin/ssh-add", ["-L"]).output.contains(pub.split(separator: " ")[1]))
        #expect(agent.stop() == 0)
    }

    @Test(.enabled(if: TestUsers.canCreate, "needs root for the test users"))
    func aCallerOutsideClientUsersIsRefusedAtConnect() throws {
        let client = try TestUsers.client, other = try TestUsers.stranger
        let agent = try Self.openAgent(extra: "CLIENT_USERS = \(client.name)")
        try agent.start(as: try TestUsers.helper)
        let mine = agent.run("/usr/bin/ssh-add", ["-L"], as: client)
        #expect(mine.status == 0, "\(mine.output)")
        let theirs = agent.run("/usr/bin/ssh-add", ["-L"], as: other)
        #expect(theirs.status != 0, "\(theirs.output)")
        #expect(agent.log.contains("refused a connection"))
        #expect(agent.log.contains("uid \(other.uid)"))
        #expect(agent.stop() == 0)
    }

    @Test(.enabled(if: TestUsers.canCreate, "needs root for the test users"))
    func oneUserCannotTakeEveryConnection() throws {
        let agent = try Self.openAgent(extra: "MAX_CONNECTIONS_PER_USER = 2")
        try agent.start(as: try TestUsers.helper)
        // Two idle connections of this uid, each holding half a message, are kept...
        func idle() throws -> UnixSocket {
            let socket = try UnixSocket(.stream)
            try socket.connect(to: UnixAddress(path: agent.socketPath))
            _ = try socket.send([0, 0, 0, 9, AgentMessageType.requestIdentities])
            return socket
        }
        let first = try idle()
        var second: UnixSocket? = try idle()
        // ...a third is closed at once (end of file, no reply)...
        let third = try UnixSocket(.stream)
        try third.connect(to: UnixAddress(path: agent.socketPath))
        var buffer = [UInt8](repeating: 0, count: 16)
        var polls = PollSet()
        polls.add(third.rawValue, .readable)
        #expect(try polls.wait(timeoutMilliseconds: 10_000) > 0)
        #expect(try third.readSome(into: &buffer, at: 0, blocking: true)?.count == 0)
        // ...while another user is served, and this uid again once it lets one go.
        let other = agent.run("/usr/bin/ssh-add", ["-L"], as: try TestUsers.client)
        #expect(other.status == 0, "\(other.output)")
        second = nil
        let until = Clock.monotonicMicroseconds() + 10_000_000
        var served = false
        while !served, Clock.monotonicMicroseconds() < until {
            // The agent sees the close when its loop next runs; until then a new connection
            // is still one too many and is closed, which the retry observes.
            served = (try? agent.connection().identities(timeout: Self.wait).count) == 1
        }
        #expect(served)
        #expect(agent.log.contains("MAX_CONNECTIONS_PER_USER"))
        _ = first.rawValue
        _ = second
        #expect(agent.stop() == 0)
    }

    @Test func anOversizeOrGarbageMessageClosesOnlyThatConnection() throws {
        let agent = try Self.openAgent()
        try agent.start()
        let good = agent.connection()
        let key = try #require(try good.identities(timeout: Self.wait).first)
        for length: UInt32 in [0, 256 * 1024 + 1, 0xFFFF_FFFF] {
            let socket = try UnixSocket(.stream)
            try socket.connect(to: UnixAddress(path: agent.socketPath))
            var w = SSHWriter()
            w.uint32(length)
            w.raw([UInt8](repeating: 0x0D, count: 64))
            _ = try socket.send(w.bytes)
            // The agent closes it: the read sees end of file.
            var buffer = [UInt8](repeating: 0, count: 16)
            var polls = PollSet()
            polls.add(socket.rawValue, .readable)
            #expect(try polls.wait(timeoutMilliseconds: 10_000) > 0)
            #expect(try socket.readSome(into: &buffer, at: 0, blocking: true)?.count == 0)
        }
        // Garbage inside a well-framed message gets FAILURE and the connection goes on.
        let raw = agent.connection()
        #expect(try raw.call([AgentMessageType.signRequest, 0xFF, 0xFF], timeout: Self.wait) == [AgentMessageType.failure])
        #expect(try raw.call([200], timeout: Self.wait) == [AgentMessageType.failure])
        #expect(try raw.identities(timeout: Self.wait).count == 1)
        #expect(try Self.signature(good, key, Array("still here".utf8)))
        #expect(agent.log.contains("closed a connection"))
        #expect(agent.stop() == 0)
    }

    @Test(.enabled(if: SoftHSMToken.available, "needs softhsm2 and opensc"))
    func aHangingTokenIsAnsweredWithinRequestTimeoutWhileOthersAreServed() throws {
        let module = try TokenFailureTests.faultModule.get()
        let agent = try AgentProcess(keys: [
            .init(name: "token", lines: "ALGORITHM = ed25519\nPURPOSES = any\nKEY_STORE = pkcs11"),
            .init(name: "memory", lines: "ALGORITHM = ed25519\nPURPOSES = any"),
        ], config: "REQUEST_TIMEOUT = 1 s", token: true)
        // The token through the fault module.
        var config = try String(contentsOfFile: agent.configPath, encoding: .utf8)
        config = config.replacingOccurrences(of: "PKCS11_MODULE = \(SoftHSMToken.module)", with: "PKCS11_MODULE = \(module)")
        try config.write(toFile: agent.configPath, atomically: true, encoding: .utf8)
        let control = agent.root + "/fault-control"
        try "".write(toFile: control, atomically: true, encoding: .utf8)
        try agent.start(environment: ["SECMOD_P11_REAL": SoftHSMToken.module, "SECMOD_P11_CONTROL": control,
                                      "SECMOD_P11_COUNT": agent.root + "/fault-count"])
        let c = agent.connection()
        let keys = try c.identities(timeout: Self.wait)
        let token = try #require(keys.first { $0.comment == "token" }), memory = try #require(keys.first { $0.comment == "memory" })
        #expect(try Self.signature(c, token, [1]))
        // Every signing call now hangs for 4 s, four times REQUEST_TIMEOUT.
        try "ops=sign\ndelay_ms=4000\n".write(toFile: control, atomically: true, encoding: .utf8)
        let started = Clock.monotonicMicroseconds()
        let slow = Result { try Self.signature(c, token, [2]) }
        let took = Clock.monotonicMicroseconds() - started
        #expect(throws: SecmodError.self) { try slow.get() }
        #expect(took >= 900_000 && took < 5_000_000, "answered after \(took) µs")
        // Meanwhile, and after, the key in memory signs at once on another connection.
        let other = agent.connection()
        for i in 0..<20 { #expect(try Self.signature(other, memory, [UInt8(i)])) }
        #expect(agent.log.contains("request timed out"))
        try "".write(toFile: control, atomically: true, encoding: .utf8)
        #expect(agent.stop() == 0)
    }
}
