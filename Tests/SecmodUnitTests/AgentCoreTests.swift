import Logging
import SecmodBase
import SecmodCrypto
import SecmodServer
import SecmodSystem
import SecmodWire
import Testing
@testable import SecmodAgent

/// The agent's rules in process: the state machine the loop feeds (`AgentCore`), with the
/// clock as a parameter. The same rules are exercised through real processes and OpenSSH's
/// tools in `AgentOpenSSHTests`.
@Suite struct AgentCoreTests {
    static let alice = PeerCredentials(pid: 10, uid: 1000, gid: 1000)
    static let bob = PeerCredentials(pid: 11, uid: 2000, gid: 2000)

    struct Fixture {
        let core: AgentCore
        let login: AgentKey, onion: AgentKey, bot: AgentKey, rsa: AgentKey
    }

    static func ed25519() throws -> Ed25519PrivateKey {
        var seed = Ed25519PrivateKey.generateSeed()
        _ = seed.withUnsafeMutableBytes { $0.count }
        return try Ed25519PrivateKey(seed: seed)
    }

    static func fixture(allowAdd: Bool = false) throws -> Fixture {
        let only = { (uid: UInt32) in CallerPolicy(allowedUsers: [uid], allowedGroups: []) }
        let login = AgentKey(name: "login", stored: .ed25519(try ed25519()), comment: "login key", purposes: [.sshAuth, .sshsig(namespace: "file")],
                             callers: only(1000), allowSHA1: false, inToken: false, audit: nil)
        let onion = AgentKey(name: "onion", stored: .ed25519(try ed25519()), comment: "onion", purposes: [.torHS],
                             callers: .open, allowSHA1: false, inToken: false, audit: nil)
        let bot = AgentKey(name: "bot", stored: .ed25519(try ed25519()), comment: "bot", purposes: [.any],
                           callers: only(2000), allowSHA1: false, inToken: false, audit: nil)
        let rsa = AgentKey(name: "rsa", stored: .rsa(try RsaFixtures.key2048.get()), comment: "rsa", purposes: [.sshAuth],
                           callers: only(1000), allowSHA1: false, inToken: false, audit: nil)
        let core = AgentCore(keys: [login, onion, bot, rsa], allowAdd: allowAdd, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        return Fixture(core: core, login: login, onion: onion, bot: bot, rsa: rsa)
    }

    static func message(_ build: (inout SSHWriter) -> Void) -> ArraySlice<UInt8> {
        var w = SSHWriter()
        build(&w)
        return w.bytes[...]
    }

    static func identities(_ core: AgentCore, _ caller: PeerCredentials, now: UInt64 = 0) -> [String] {
        var connection = AgentConnectionState(id: 1, caller: caller)
        guard case let .reply(reply) = core.handle([AgentMessageType.requestIdentities], connection: &connection, now: now) else { return ["?"] }
        var r = SSHReader(Array(reply.dropFirst()))
        let n = (try? r.uint32("n")) ?? 0
        return (0..<n).compactMap { _ in
            _ = try? r.string("blob")
            return (try? r.string("comment")).map { String(decoding: $0, as: UTF8.self) }
        }
    }

    static func signRequest(_ key: AgentKey, _ data: [UInt8], flags: UInt32 = 0) -> ArraySlice<UInt8> {
        message { w in
            w.byte(AgentMessageType.signRequest)
            w.string(key.blob)
            w.string(data)
            w.uint32(flags)
        }
    }

    static func userAuth(session: [UInt8], key: AgentKey, algorithm: String = "ssh-ed25519") -> [UInt8] {
        var w = SSHWriter()
        w.string(session)
        w.byte(50)
        w.string("alice")
        w.string("ssh-connection")
        w.string("publickey")
        w.bool(true)
        w.string(algorithm)
        w.string(key.blob)
        return w.bytes
    }

    static func sshsig(_ namespace: String) -> [UInt8] {
        var w = SSHWriter()
        w.raw(Array("SSHSIG".utf8))
        w.string(namespace)
        w.string("")
        w.string("sha512")
        w.string([UInt8](repeating: 0xAB, count: 64))
        return w.bytes
    }

    /// Runs the work the core hands out, as a worker would, and returns the reply.
    static func outcome(_ action: AgentAction) -> [UInt8]? {
        switch action {
        case let .reply(reply): reply
        case let .work(work): work.run(logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        case .close: nil
        }
    }

    @Test func eachCallerSeesOnlyItsKeys() throws {
        let f = try Self.fixture()
        #expect(Self.identities(f.core, Self.alice) == ["login key", "onion", "rsa"])
        #expect(Self.identities(f.core, Self.bob) == ["onion", "bot"])
        // A key the caller may not see is as unknown as one that does not exist.
        var bob = AgentConnectionState(id: 1, caller: Self.bob)
        #expect(Self.outcome(f.core.handle(Self.signRequest(f.login, Self.sshsig("file")), connection: &bob, now: 0)) == AgentReply.failure)
        #expect(f.core.refusals[.unknownKey] == 1)
    }

    @Test func purposesAreCheckedOnWhatIsSigned() throws {
        let f = try Self.fixture()
        var alice = AgentConnectionState(id: 1, caller: Self.alice)
        let session = [UInt8](repeating: 7, count: 32)
        // ssh-auth: a user authentication for this key.
        let auth = Self.userAuth(session: session, key: f.login)
        let reply = try #require(Self.outcome(f.core.handle(Self.signRequest(f.login, auth), connection: &alice, now: 0)))
        #expect(reply.first == AgentMessageType.signResponse)
        var r = SSHReader(Array(reply.dropFirst()))
        let signature = try SSHSignature(encoded: try r.string("sig"))
        #expect(signature.algorithm == "ssh-ed25519")
        guard case let .ed25519(publicKey) = f.login.publicKey else { Issue.record("not ed25519"); return }
        #expect(Ed25519.verify(signature: signature.bytes, message: auth, publicKey: publicKey))
        // ... but not one naming another key.
        #expect(Self.outcome(f.core.handle(Self.signRequest(f.login, Self.userAuth(session: session, key: f.rsa)), connection: &alice, now: 0)) == AgentReply.failure)
        // sshsig:file, and no other namespace.
        #expect(Self.outcome(f.core.handle(Self.signRequest(f.login, Self.sshsig("file")), connection: &alice, now: 0))?.first == AgentMessageType.signResponse)
        #expect(Self.outcome(f.core.handle(Self.signRequest(f.login, Self.sshsig("git")), connection: &alice, now: 0)) == AgentReply.failure)
        // Anything else.
        #expect(Self.outcome(f.core.handle(Self.signRequest(f.login, Array("raw bytes".utf8)), connection: &alice, now: 0)) == AgentReply.failure)
        // A tor-hs key signs nothing through SIGN_REQUEST.
        #expect(Self.outcome(f.core.handle(Self.signRequest(f.onion, Self.sshsig("file")), connection: &alice, now: 0)) == AgentReply.failure)
        #expect(f.core.refusals[.purpose] == 4)
        // `any` signs anything.
        var bob = AgentConnectionState(id: 2, caller: Self.bob)
        #expect(Self.outcome(f.core.handle(Self.signRequest(f.bot, Array("raw bytes".utf8)), connection: &bob, now: 0))?.first == AgentMessageType.signResponse)
    }

    @Test func rsaSignsWithSHA2AndRefusesSHA1UnlessAllowed() throws {
        let f = try Self.fixture()
        var alice = AgentConnectionState(id: 1, caller: Self.alice)
        let auth = Self.userAuth(session: [1, 2, 3], key: f.rsa, algorithm: "rsa-sha2-512")
        for (flags, algorithm, digest) in [(UInt32(4), "rsa-sha2-512", Digest.sha512), (2, "rsa-sha2-256", .sha256)] {
            let reply = try #require(Self.outcome(f.core.handle(Self.signRequest(f.rsa, auth, flags: flags), connection: &alice, now: 0)))
            var r = SSHReader(Array(reply.dropFirst()))
            let signature = try SSHSignature(encoded: try r.string("sig"))
            #expect(signature.algorithm == algorithm)
            #expect(signature.bytes.count == 256)
            #expect(RsaPkcs1Signature.verify(signature: signature.bytes, message: auth, digest: digest, publicKey: try RsaFixtures.key2048.get().publicKey))
        }
        #expect(Self.outcome(f.core.handle(Self.signRequest(f.rsa, auth, flags: 0), connection: &alice, now: 0)) == AgentReply.failure)
        #expect(f.core.refusals[.sha1NotAllowed] == 1)
    }

    @Test func lockStopsEverythingUntilTheSamePassphrase() throws {
        let f = try Self.fixture()
        var alice = AgentConnectionState(id: 1, caller: Self.alice)
        let lock = Self.message { $0.byte(AgentMessageType.lock); $0.string("correct horse") }
        let wrong = Self.message { $0.byte(AgentMessageType.unlock); $0.string("battery staple") }
        let unlock = Self.message { $0.byte(AgentMessageType.unlock); $0.string("correct horse") }
        #expect(Self.outcome(f.core.handle(lock, connection: &alice, now: 0)) == AgentReply.success)
        #expect(f.core.isLocked)
        #expect(Self.identities(f.core, Self.alice).isEmpty)
        #expect(Self.outcome(f.core.handle(Self.signRequest(f.login, Self.sshsig("file")), connection: &alice, now: 0)) == AgentReply.failure)
        #expect(Self.outcome(f.core.handle(lock, connection: &alice, now: 0)) == AgentReply.failure)
        // A wrong passphrase, then the right one too soon: both refused.
        #expect(Self.outcome(f.core.handle(wrong, connection: &alice, now: 1_000_000)) == AgentReply.failure)
        #expect(Self.outcome(f.core.handle(unlock, connection: &alice, now: 1_000_001)) == AgentReply.failure)
        #expect(f.core.refusals[.backoff] == 1)
        #expect(f.core.isLocked)
        #expect(Self.outcome(f.core.handle(unlock, connection: &alice, now: 1_500_000)) == AgentReply.success)
        #expect(!f.core.isLocked)
        #expect(Self.identities(f.core, Self.alice).count == 3)
        #expect(f.core.lockCount == 1)
        // Someone who may use no configured key cannot lock everyone out.
        var stranger = AgentConnectionState(id: 3, caller: PeerCredentials(pid: 1, uid: 3000, gid: 3000))
        let core = AgentCore(keys: [f.login], allowAdd: false, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        #expect(Self.outcome(core.handle(lock, connection: &stranger, now: 0)) == AgentReply.failure)
        #expect(!core.isLocked)
        // Nor keep it locked: UNLOCK is theirs neither, and one user's wrong guesses hold
        // back only that user.
        var owner = AgentConnectionState(id: 4, caller: Self.alice)
        #expect(Self.outcome(core.handle(lock, connection: &owner, now: 0)) == AgentReply.success)
        #expect(Self.outcome(core.handle(wrong, connection: &stranger, now: 10)) == AgentReply.failure)
        #expect(core.refusals[.callerNotAllowed] == 2)
        var bob = AgentConnectionState(id: 5, caller: Self.bob)
        #expect(Self.outcome(f.core.handle(lock, connection: &alice, now: 2_000_000)) == AgentReply.success)
        #expect(Self.outcome(f.core.handle(wrong, connection: &bob, now: 2_000_001)) == AgentReply.failure)
        #expect(Self.outcome(f.core.handle(unlock, connection: &bob, now: 2_000_002)) == AgentReply.failure)
        #expect(Self.outcome(f.core.handle(unlock, connection: &alice, now: 2_000_003)) == AgentReply.success)
    }

    static func sessionBind(host: Ed25519PrivateKey, session: [UInt8], signed: [UInt8]? = nil, forwarding: Bool = false) -> ArraySlice<UInt8> {
        message { w in
            w.byte(AgentMessageType.extension)
            w.string(SessionBind.extensionName)
            w.string(SSHPublicKey.ed25519(host.publicKey).blob)
            w.string(session)
            w.string(SSHSignature(algorithm: "ssh-ed25519", bytes: host.sign(signed ?? session)).encoded)
            w.bool(forwarding)
        }
    }

    @Test func sessionBindIsVerifiedAndBindsUserAuthentication() throws {
        let f = try Self.fixture()
        let host = try Self.ed25519()
        let session = [UInt8](repeating: 0x51, count: 32)
        // A signature over something else proves nothing (FAILURE, as OpenSSH answers), and
        // spoils its connection for user authentication by any key until a binding succeeds.
        var spoiled = AgentConnectionState(id: 2, caller: Self.alice)
        #expect(Self.outcome(f.core.handle(Self.sessionBind(host: host, session: session, signed: [1]), connection: &spoiled, now: 0)) == AgentReply.failure)
        #expect(spoiled.bindings.isEmpty && spoiled.bindingFailed)
        #expect(Self.outcome(f.core.handle(Self.signRequest(f.login, Self.userAuth(session: session, key: f.login)), connection: &spoiled, now: 0)) == AgentReply.failure)
        #expect(Self.outcome(f.core.handle(Self.sessionBind(host: host, session: session), connection: &spoiled, now: 0)) == AgentReply.success)
        #expect(Self.outcome(f.core.handle(Self.signRequest(f.login, Self.userAuth(session: session, key: f.login)), connection: &spoiled, now: 0))?.first == AgentMessageType.signResponse)
        var alice = AgentConnectionState(id: 1, caller: Self.alice)
        #expect(Self.outcome(f.core.handle(Self.sessionBind(host: host, session: session), connection: &alice, now: 0)) == AgentReply.success)
        #expect(alice.bindings.map(\.hostKey) == [SSHPublicKey.ed25519(host.publicKey).blob])
        // A user authentication for another session is refused; for this one it is signed.
        let other = Self.userAuth(session: [UInt8](repeating: 0x52, count: 32), key: f.login)
        #expect(Self.outcome(f.core.handle(Self.signRequest(f.login, other), connection: &alice, now: 0)) == AgentReply.failure)
        #expect(f.core.refusals[.sessionMismatch] == 2)
        let mine = Self.userAuth(session: session, key: f.login)
        #expect(Self.outcome(f.core.handle(Self.signRequest(f.login, mine), connection: &alice, now: 0))?.first == AgentMessageType.signResponse)
        // A connection bound for authentication cannot be bound again, to this session or another.
        #expect(Self.outcome(f.core.handle(Self.sessionBind(host: host, session: session), connection: &alice, now: 0)) == AgentReply.failure)
        #expect(Self.outcome(f.core.handle(Self.sessionBind(host: host, session: [9, 9]), connection: &alice, now: 0)) == AgentReply.failure)
        #expect(alice.bindings.count == 1)
    }

    @Test func forwardedConnectionsSignOnlyForTheLastHopsSession() throws {
        let f = try Self.fixture()
        let first = try Self.ed25519(), second = try Self.ed25519()
        let hop = [UInt8](repeating: 0x61, count: 32), target = [UInt8](repeating: 0x62, count: 32)
        var bob = AgentConnectionState(id: 1, caller: Self.bob)
        // Bound as a forwarding hop: nothing may be signed for user authentication there,
        // even by a key whose purpose is `any` (a process on the host forwarded to).
        #expect(Self.outcome(f.core.handle(Self.sessionBind(host: first, session: hop, forwarding: true), connection: &bob, now: 0)) == AgentReply.success)
        #expect(Self.outcome(f.core.handle(Self.signRequest(f.bot, Self.userAuth(session: hop, key: f.bot)), connection: &bob, now: 0)) == AgentReply.failure)
        // The same forwarding binding again is fine; then the far ssh binds its own session.
        #expect(Self.outcome(f.core.handle(Self.sessionBind(host: first, session: hop, forwarding: true), connection: &bob, now: 0)) == AgentReply.success)
        #expect(Self.outcome(f.core.handle(Self.sessionBind(host: second, session: target), connection: &bob, now: 0)) == AgentReply.success)
        #expect(Self.outcome(f.core.handle(Self.signRequest(f.bot, Self.userAuth(session: target, key: f.bot)), connection: &bob, now: 0))?.first == AgentMessageType.signResponse)
        #expect(Self.outcome(f.core.handle(Self.signRequest(f.bot, Self.userAuth(session: hop, key: f.bot)), connection: &bob, now: 0)) == AgentReply.failure)
        // Data that is not a user authentication is not the session rules' business.
        #expect(Self.outcome(f.core.handle(Self.signRequest(f.bot, [1, 2, 3]), connection: &bob, now: 0))?.first == AgentMessageType.signResponse)
    }

    @Test func certificateHostKeysAreCheckedWithTheCertifiedKey() throws {
        let f = try Self.fixture()
        let host = try Self.ed25519()
        let session = [UInt8](repeating: 0x71, count: 32)
        var w = SSHWriter()
        w.string("ssh-ed25519-cert-v01@openssh.com")
        w.string([UInt8](repeating: 7, count: 32))  // nonce
        w.string(host.publicKey)
        w.raw([0, 0, 0, 0, 0, 0, 0, 1])  // the rest of the certificate is the client's to check
        let certificate = w.bytes
        func bind(_ signed: [UInt8]) -> ArraySlice<UInt8> {
            Self.message { m in
                m.byte(AgentMessageType.extension)
                m.string(SessionBind.extensionName)
                m.string(certificate)
                m.string(session)
                m.string(SSHSignature(algorithm: "ssh-ed25519", bytes: host.sign(signed)).encoded)
                m.bool(false)
            }
        }
        var bad = AgentConnectionState(id: 1, caller: Self.alice)
        #expect(Self.outcome(f.core.handle(bind([0]), connection: &bad, now: 0)) == AgentReply.failure)
        var alice = AgentConnectionState(id: 2, caller: Self.alice)
        #expect(Self.outcome(f.core.handle(bind(session), connection: &alice, now: 0)) == AgentReply.success)
        // Four failed bindings, then the fifth is refused without being checked.
        var noisy = AgentConnectionState(id: 3, caller: Self.alice)
        for _ in 0..<4 { _ = f.core.handle(bind([0]), connection: &noisy, now: 0) }
        #expect(Self.outcome(f.core.handle(bind(session), connection: &noisy, now: 0)) == AgentReply.failure)
        #expect(noisy.bindings.isEmpty)
    }

    @Test func addIdentityIsRefusedUnlessAllowedAndThenPrivateToItsOwner() throws {
        func add(_ key: Ed25519PrivateKey, lifetime: UInt32?) -> ArraySlice<UInt8> {
            Self.message { w in
                w.byte(lifetime == nil ? AgentMessageType.addIdentity : AgentMessageType.addIdentityConstrained)
                w.string("ssh-ed25519")
                w.string(key.publicKey)
                var secret = [UInt8](repeating: 0, count: 64)
                key.withSeedForTesting { secret.replaceSubrange(0..<32, with: $0) }
                secret.replaceSubrange(32..<64, with: key.publicKey)
                w.string(secret)
                w.string("added")
                if let lifetime { w.byte(1); w.uint32(lifetime) }
            }
        }
        let key = try Self.ed25519()
        var alice = AgentConnectionState(id: 1, caller: Self.alice)
        let closed = try Self.fixture()
        #expect(Self.outcome(closed.core.handle(add(key, lifetime: nil), connection: &alice, now: 0)) == AgentReply.failure)
        #expect(Self.identities(closed.core, Self.alice).count == 3)

        let open = try Self.fixture(allowAdd: true)
        #expect(Self.outcome(open.core.handle(add(key, lifetime: 60), connection: &alice, now: 0)) == AgentReply.success)
        #expect(Self.identities(open.core, Self.alice).last == "added")
        #expect(!Self.identities(open.core, Self.bob).contains("added"))
        // Gone when its lifetime is over: the loop's timer drops it then, unasked.
        #expect(open.core.nextExpiry == 60_000_000)
        open.core.expire(now: 59_999_999)
        #expect(open.core.nextExpiry == 60_000_000)
        open.core.expire(now: 60_000_000)
        #expect(open.core.nextExpiry == nil)
        #expect(!Self.identities(open.core, Self.alice, now: 60_000_000).contains("added"))
        // Each costs locked memory: one user may add 64, and no more.
        for _ in 0..<AgentCore.maximumAddedKeysPerUser {
            #expect(Self.outcome(open.core.handle(add(try Self.ed25519(), lifetime: nil), connection: &alice, now: 60_000_000)) == AgentReply.success)
        }
        #expect(Self.outcome(open.core.handle(add(try Self.ed25519(), lifetime: nil), connection: &alice, now: 60_000_000)) == AgentReply.failure)
        var bob = AgentConnectionState(id: 2, caller: Self.bob)
        #expect(Self.outcome(open.core.handle(add(try Self.ed25519(), lifetime: nil), connection: &bob, now: 60_000_000)) == AgentReply.success)
    }

    @Test func blindingNeedsTorHSAndAnswersExtensionFailure() throws {
        let f = try Self.fixture()
        var alice = AgentConnectionState(id: 1, caller: Self.alice)
        func blind(_ key: AgentKey) -> ArraySlice<UInt8> {
            Self.message { w in
                w.byte(AgentMessageType.extension)
                w.string(OnionBlindingExtension.blindSignName)
                w.string(key.blob)
                w.uint64(20_000)
                w.uint64(1440)
                w.string("descriptor")
            }
        }
        let reply = try #require(Self.outcome(f.core.handle(blind(f.onion), connection: &alice, now: 0)))
        #expect(reply.first == AgentMessageType.extensionResponse)
        var r = SSHReader(try #require(AgentReply.extensionContents(reply, name: OnionBlindingExtension.blindSignName)))
        let blinded = try r.string("key")
        let signature = try r.string("sig")
        guard case let .ed25519(identity) = f.onion.publicKey else { Issue.record("not ed25519"); return }
        let h = OnionKeyBlinding.parameter(identityKey: identity, periodNumber: 20_000, periodLengthMinutes: 1440)
        #expect(try blinded == OnionKeyBlinding.blindedPublicKey(identity, parameter: h))
        #expect(Ed25519.verify(signature: signature, message: Array("descriptor".utf8), publicKey: blinded))
        #expect(Self.outcome(f.core.handle(blind(f.login), connection: &alice, now: 0)) == AgentReply.extensionFailure)
    }

    @Test func queryListsTheExtensionsAndUnknownOnesFail() throws {
        let f = try Self.fixture()
        var alice = AgentConnectionState(id: 1, caller: Self.alice)
        let reply = try #require(Self.outcome(f.core.handle(Self.message { $0.byte(27); $0.string("query") }, connection: &alice, now: 0)))
        #expect(reply.first == AgentMessageType.extensionResponse)
        #expect(try QueryExtension.parseReply(try #require(AgentReply.extensionContents(reply, name: "query"))) == AgentCore.extensions)
        #expect(Self.outcome(f.core.handle(Self.message { $0.byte(27); $0.string("nope@example.org") }, connection: &alice, now: 0)) == AgentReply.failure)
        #expect(Self.outcome(f.core.handle([99], connection: &alice, now: 0)) == AgentReply.failure)
        #expect(Self.outcome(f.core.handle([AgentMessageType.signRequest, 0, 0], connection: &alice, now: 0)) == AgentReply.failure)
        // Unknown SIGN_REQUEST flags fail (RFC 9987), as does LOCK with an empty passphrase.
        #expect(Self.outcome(f.core.handle(Self.signRequest(f.login, Self.sshsig("file"), flags: 8), connection: &alice, now: 0)) == AgentReply.failure)
        #expect(Self.outcome(f.core.handle(Self.message { $0.byte(AgentMessageType.lock); $0.string("") }, connection: &alice, now: 0)) == AgentReply.failure)
        #expect(!f.core.isLocked)
    }
}
