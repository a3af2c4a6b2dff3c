import Logging
import SecmodBase
import SecmodCrypto
import SecmodServer
import SecmodSystem
import SecmodWire

/// One client connection as the agent's rules see it: who it is (`SO_PEERCRED`, fixed at
/// connect) and the SSH sessions it bound itself to.
public struct AgentConnectionState: Sendable {
    public let id: UInt64
    public let caller: PeerCredentials
    public internal(set) var bindings: [Binding] = []
    /// A session-bind failed on this connection: its session is unknown.
    public internal(set) var bindingFailed = false

    public struct Binding: Sendable, Equatable {
        public let hostKey: [UInt8]
        public let sessionID: [UInt8]
        public let isForwarding: Bool
    }

    public init(id: UInt64, caller: PeerCredentials) {
        self.id = id
        self.caller = caller
    }

    /// OpenSSH's bound: a connection binds to at most this many sessions (a forwarding chain).
    static let maximumBindings = 16
    /// Failed session-binds a connection may make before further ones are refused without
    /// checking their signature (each check costs the loop a public-key operation).
    static let maximumFailedBindings = 4
    var failedBindings = 0

    /// Why a user-authentication request for `sessionID` may not be signed on this
    /// connection, whatever the key (OpenSSH's rules): a session-bind was tried and none
    /// succeeded, so the client's session is unknown; the last binding is a forwarding hop,
    /// so the request comes from a host the agent was forwarded to; or the request is for
    /// another session than the one bound, so a server replays another connection's.
    func userAuthRefusal(sessionID: [UInt8]) -> AgentRefusal? {
        if bindingFailed, bindings.isEmpty { return .sessionMismatch }
        guard let last = bindings.last else { return nil }
        if last.isForwarding { return .sessionMismatch }
        return last.sessionID == sessionID ? nil : .sessionMismatch
    }
}

/// What the loop does with a request.
public enum AgentAction: Sendable {
    /// Answer at once with this payload.
    case reply([UInt8])
    /// Run on a worker; its result is the answer.
    case work(AgentWork)
    /// Close the connection (nothing sensible can follow).
    case close(reason: String)
}

/// A signature or a blinding for a worker: may take milliseconds (RSA) or hang (a token).
public struct AgentWork: Sendable {
    enum Kind: Sendable {
        case sign(data: [UInt8], scheme: SSHSignatureScheme, purpose: AgentPurpose)
        case blind(parameter: [UInt8], data: [UInt8]?)
    }

    let key: AgentKey
    let kind: Kind
    let caller: PeerCredentials

    /// Whether the key's calls may hang: such work goes to the token's workers.
    public var mayBlock: Bool { key.inToken }

    /// Counts, signs, and returns the answer's payload. A failure is FAILURE (or
    /// EXTENSION_FAILURE for the blinding extensions) with the reason logged.
    func run(logger: Logger) -> [UInt8] {
        let purpose: AgentPurpose
        switch kind {
        case let .sign(_, _, p): purpose = p
        case .blind: purpose = .torHS
        }
        let counter = key.audit?.counter(purpose)
        if let counter, counter.admit() != .admitted {
            logger.error("key \(key.name): the signature could not be counted in AUDIT_DIR, so it was not made")
            return failureReply
        }
        do throws(SecmodError) {
            switch kind {
            case let .sign(data, scheme, _):
                return AgentReply.signature(try key.sign(data, scheme: scheme).encoded)
            case let .blind(parameter, data):
                guard let identity = key.blindable else { throw SecmodError(.crypto, "key \(key.name) is not an Ed25519 key in memory") }
                let blinded = try identity.blinded(parameter: parameter)
                let signature = try data.map { (d) throws(SecmodError) in try blinded.sign(d) }
                return AgentReply.extensionResponse(data == nil ? OnionBlindingExtension.blindedKeyName : OnionBlindingExtension.blindSignName,
                                                    OnionBlindingExtension.reply(blindedKey: blinded.publicKey, signature: signature))
            }
        } catch {
            counter?.release()
            logger.error("key \(key.name) failed to sign for \(caller): \(error)")
            return failureReply
        }
    }

    var failureReply: [UInt8] {
        if case .blind = kind { return AgentReply.extensionFailure }
        return AgentReply.failure
    }
}

/// The agent's rules, as a state machine the event loop feeds with requests: which keys a
/// caller sees, what each key may sign, LOCK and UNLOCK, added keys, session binding. It
/// does no I/O and reads no clock (`now` is a parameter), so every rule is tested in
/// process (`AgentCoreTests`); signing itself is `AgentWork`, which the loop hands to
/// workers. Owned by the loop's thread.
public final class AgentCore {
    let configured: [AgentKey]
    private(set) var added: [AgentKey] = []
    private(set) var lock = AgentLock()
    let allowAdd: Bool
    let logger: Logger
    private var refusalLog = RateLimitedLog()
    /// Counts for the log and tests.
    public private(set) var refusals: [AgentRefusal: Int] = [:]
    public private(set) var lockCount = 0

    /// Extensions `query` lists.
    public static let extensions = [QueryExtension.name, SessionBind.extensionName,
                                    OnionBlindingExtension.blindedKeyName, OnionBlindingExtension.blindSignName]

    init(keys: [AgentKey], allowAdd: Bool, logger: Logger) {
        configured = keys
        self.allowAdd = allowAdd
        self.logger = logger
    }

    public var isLocked: Bool { lock.isLocked }

    /// The keys `caller` may see, configured first, in configuration order. `now`: monotonic µs.
    func visibleKeys(for caller: PeerCredentials, now: UInt64) -> [AgentKey] {
        (configured + added).filter { $0.admits(caller) && ($0.expiresAt.map { now < $0 } ?? true) }
    }

    /// Handles one message's payload (type byte first). `now`: monotonic µs.
    public func handle(_ payload: ArraySlice<UInt8>, connection: inout AgentConnectionState, now: UInt64) -> AgentAction {
        dropExpired(now: now)
        let request: AgentRequest
        do throws(SecmodError) { request = try AgentRequest.decode(payload) } catch {
            return refuse(.malformed, connection, "\(error)")
        }
        let caller = connection.caller
        switch request {
        case .requestIdentities:
            if lock.isLocked { return .reply(AgentReply.identities([])) }
            return .reply(AgentReply.identities(visibleKeys(for: caller, now: now).map { ($0.blob, $0.comment) }))

        case let .sign(blob, data, flags):
            if lock.isLocked { return refuse(.locked, connection, "SIGN while locked") }
            guard let key = visibleKeys(for: caller, now: now).first(where: { $0.blob == blob }) else {
                return refuse(.unknownKey, connection, "SIGN with a key it may not use or that is not here")
            }
            // RFC 9987: flags the agent does not know fail the request.
            guard flags.isSubset(of: [.rsaSHA256, .rsaSHA512]) else {
                return refuse(.unsupported, connection, "SIGN_REQUEST with unknown flags \(flags.rawValue)")
            }
            let scheme: SSHSignatureScheme
            switch key.scheme(flags: flags) {
            case let .success(s): scheme = s
            case let .failure(why): return refuse(why, connection, "key \(key.name): SHA-1 ssh-rsa signature asked for (flags \(flags.rawValue)); ALLOW_SHA1 is off")
            }
            let content = SignedContent(data)
            if case let .userAuth(request) = content, let why = connection.userAuthRefusal(sessionID: request.sessionID) {
                return refuse(why, connection, "key \(key.name): a user authentication whose session does not match the connection's session-bind (failed, forwarded, or another session)")
            }
            switch purposeAllowing(content, keyBlob: blob, purposes: key.purposes) {
            case let .success(purpose):
                return .work(AgentWork(key: key, kind: .sign(data: data, scheme: scheme, purpose: purpose), caller: caller))
            case let .failure(why):
                return refuse(why, connection, "key \(key.name) may not sign \(Self.describe(content)) (PURPOSES \(Self.describe(key.purposes)))")
            }

        case let .addIdentity(body, constrained):
            guard allowAdd else { return refuse(.unsupported, connection, "ADD_IDENTITY, and ALLOW_ADD is off") }
            if lock.isLocked { return refuse(.locked, connection, "ADD_IDENTITY while locked") }
            return add(body: body, constrained: constrained, connection, now: now)

        case let .removeIdentity(blob):
            if lock.isLocked { return refuse(.locked, connection, "REMOVE_IDENTITY while locked") }
            guard let key = visibleKeys(for: caller, now: now).first(where: { $0.blob == blob }) else {
                return refuse(.unknownKey, connection, "REMOVE_IDENTITY of a key it does not see")
            }
            guard key.addedBy != nil else {
                return refuse(.unsupported, connection, "REMOVE_IDENTITY of configured key \(key.name): configured keys are removed from the configuration")
            }
            added.removeAll { $0 === key }
            logger.notice("removed added key \(key.comment) for \(caller)")
            return .reply(AgentReply.success)

        case .removeAllIdentities:
            if lock.isLocked { return refuse(.locked, connection, "REMOVE_ALL_IDENTITIES while locked") }
            added.removeAll { $0.addedBy == caller.uid }
            // Success would tell the client its keys are gone; configured ones are not.
            if configured.contains(where: { $0.admits(caller) }) {
                return refuse(.unsupported, connection, "REMOVE_ALL_IDENTITIES: configured keys stay (its added keys, if any, were removed)")
            }
            return .reply(AgentReply.success)

        case let .lock(passphrase):
            guard !passphrase.isEmpty else { return refuse(.unsupported, connection, "LOCK with an empty passphrase") }
            // LOCK and UNLOCK act for everyone: only a caller trusted with a configured key
            // may use them, so that a caller admitted to the socket for nothing else can
            // neither stop the others' signing nor keep it stopped.
            guard mayLock(caller) else {
                return refuse(.callerNotAllowed, connection, "LOCK by a caller that may use no configured key")
            }
            switch lock.lock(passphrase: passphrase) {
            case .done:
                lockCount += 1
                logger.notice("locked by \(caller): no key signs until UNLOCK")
                return .reply(AgentReply.success)
            case let .refused(why):
                return refuse(why, connection, "LOCK while locked")
            }

        case let .unlock(passphrase):
            guard mayLock(caller) else {
                return refuse(.callerNotAllowed, connection, "UNLOCK by a caller that may use no configured key")
            }
            switch lock.unlock(passphrase: passphrase, uid: caller.uid, now: now) {
            case .done:
                logger.notice("unlocked by \(caller)")
                return .reply(AgentReply.success)
            case let .refused(why):
                return refuse(why, connection, why == .badPassphrase ? "UNLOCK with a wrong passphrase" : "UNLOCK refused (\(why.rawValue))")
            }

        case let .extension(name, contents):
            return handleExtension(name, contents, &connection, now: now)

        case let .unsupported(type):
            return refuse(.unsupported, connection, "message type \(type) (smartcard keys are configured with KEY_STORE = pkcs11)")
        case let .unknown(type):
            return refuse(.unsupported, connection, "unknown message type \(type)")
        }
    }

    private func handleExtension(_ name: String, _ contents: [UInt8], _ connection: inout AgentConnectionState, now: UInt64) -> AgentAction {
        let caller = connection.caller
        switch name {
        case QueryExtension.name:
            return .reply(AgentReply.extensionResponse(QueryExtension.name, QueryExtension.reply(Self.extensions)))

        case SessionBind.extensionName:
            // OpenSSH answers a refused binding with FAILURE, and so does this agent. A
            // failed binding is remembered: until one succeeds the client's session is
            // unknown, and no user authentication is signed on this connection.
            let bind: SessionBind
            do throws(SecmodError) { bind = try SessionBind(contents: contents) } catch {
                return bindingRefused(.malformed, &connection, "session-bind: \(error)")
            }
            // OpenSSH's rules, in its order, all before the signature is checked: at most 16
            // bindings; none after one for authentication (not forwarding); the same session
            // again is fine with the same host key and refused with another.
            guard connection.bindings.count < AgentConnectionState.maximumBindings else {
                return bindingRefused(.unsupported, &connection, "more than \(AgentConnectionState.maximumBindings) session-binds on one connection")
            }
            for earlier in connection.bindings {
                guard earlier.isForwarding else {
                    return bindingRefused(.sessionMismatch, &connection, "session-bind on a connection already bound for authentication")
                }
                if earlier.sessionID == bind.sessionID {
                    guard earlier.hostKey == bind.hostKey else {
                        return bindingRefused(.sessionMismatch, &connection, "session-bind of a bound session to another host key")
                    }
                    return .reply(AgentReply.success)
                }
            }
            guard connection.failedBindings < AgentConnectionState.maximumFailedBindings else {
                return bindingRefused(.unsupported, &connection, "session-bind after \(AgentConnectionState.maximumFailedBindings) failed ones on this connection")
            }
            guard HostKeySignature.verify(hostKey: bind.hostKey, signature: bind.signature, sessionID: bind.sessionID) else {
                return bindingRefused(.malformed, &connection, "session-bind whose host key signature does not verify (or whose host key this agent cannot check)")
            }
            connection.bindings.append(.init(hostKey: bind.hostKey, sessionID: bind.sessionID, isForwarding: bind.isForwarding))
            logger.info("connection of \(caller) bound to host key \(Self.fingerprint(bind.hostKey))\(bind.isForwarding ? " (forwarded)" : "")")
            return .reply(AgentReply.success)

        case OnionBlindingExtension.blindedKeyName, OnionBlindingExtension.blindSignName:
            let signing = name == OnionBlindingExtension.blindSignName
            if lock.isLocked { return refuse(.locked, connection, "\(name) while locked", reply: AgentReply.extensionFailure) }
            let request: OnionBlindingExtension.Request
            do throws(SecmodError) { request = try OnionBlindingExtension.request(contents, signing: signing) } catch {
                return refuse(.malformed, connection, "\(name): \(error)", reply: AgentReply.extensionFailure)
            }
            guard let key = visibleKeys(for: caller, now: now).first(where: { $0.blob == request.keyBlob }) else {
                return refuse(.unknownKey, connection, "\(name) with a key it may not use or that is not here", reply: AgentReply.extensionFailure)
            }
            guard key.purposes.contains(.torHS) else {
                return refuse(.purpose, connection, "\(name) with key \(key.name), whose PURPOSES (\(Self.describe(key.purposes))) lack tor-hs", reply: AgentReply.extensionFailure)
            }
            guard key.blindable != nil, case let .ed25519(publicKey) = key.publicKey else {
                return refuse(.notBlindable, connection, "\(name) with key \(key.name), which is \(key.inToken ? "in a PKCS#11 token: PKCS#11 has no blinding mechanism" : "not Ed25519")", reply: AgentReply.extensionFailure)
            }
            let parameter = OnionKeyBlinding.parameter(identityKey: publicKey, periodNumber: request.periodNumber,
                                                       periodLengthMinutes: request.periodLengthMinutes)
            return .work(AgentWork(key: key, kind: .blind(parameter: parameter, data: request.data), caller: caller))

        default:
            return refuse(.unsupported, connection, "unknown extension \(LogText.quoted(name))")
        }
    }

    private func mayLock(_ caller: PeerCredentials) -> Bool {
        configured.contains { $0.admits(caller) }
    }

    /// Added keys one uid may hold, and all uids together: each costs locked memory
    /// (guarded pages) and a look at every request.
    static let maximumAddedKeysPerUser = 64
    static let maximumAddedKeys = 1024

    private func add(body: [UInt8], constrained: Bool, _ connection: AgentConnectionState, now: UInt64) -> AgentAction {
        let caller = connection.caller
        do throws(SecmodError) {
            let request = try AddedKeyRequest(body: body, constrained: constrained)
            let key = request.key
            let blob = SSHPublicKey.ed25519(key.publicKey).blob
            if configured.contains(where: { $0.blob == blob }) {
                return refuse(.unsupported, connection, "ADD_IDENTITY of a configured key")
            }
            // Adding the same key again replaces its constraints, as OpenSSH does.
            added.removeAll { $0.blob == blob && $0.addedBy == caller.uid }
            guard added.count(where: { $0.addedBy == caller.uid }) < Self.maximumAddedKeysPerUser, added.count < Self.maximumAddedKeys else {
                return refuse(.unsupported, connection, "ADD_IDENTITY beyond \(Self.maximumAddedKeysPerUser) keys of one user or \(Self.maximumAddedKeys) in all")
            }
            let expiry = request.lifetime.map { now &+ UInt64($0) * 1_000_000 }
            added.append(AgentKey(name: "added:\(request.comment)", stored: .ed25519(key), comment: request.comment, purposes: [.any],
                                  callers: .open, allowSHA1: false, inToken: false, addedBy: caller.uid, expiresAt: expiry, audit: nil))
            logger.notice("added key \(LogText.quoted(request.comment)) for uid \(caller.uid)\(request.lifetime.map { ", for \($0) s" } ?? "")")
            return .reply(AgentReply.success)
        } catch {
            return refuse(.malformed, connection, "ADD_IDENTITY: \(error)")
        }
    }

    /// When the next added key's lifetime ends (monotonic µs), for the loop's timer: an
    /// expired key leaves memory then, not at the next request.
    public var nextExpiry: UInt64? { added.compactMap(\.expiresAt).min() }

    /// Drops the added keys whose lifetime is over. `now`: monotonic µs.
    public func expire(now: UInt64) { dropExpired(now: now) }

    private func dropExpired(now: UInt64) {
        guard added.contains(where: { $0.expiresAt.map { now >= $0 } ?? false }) else { return }
        added.removeAll { key in
            guard let at = key.expiresAt, now >= at else { return false }
            logger.notice("added key \(LogText.quoted(key.comment)) of uid \(key.addedBy ?? 0) expired")
            return true
        }
    }

    private func bindingRefused(_ why: AgentRefusal, _ connection: inout AgentConnectionState, _ detail: String) -> AgentAction {
        connection.bindingFailed = true
        connection.failedBindings += 1
        return refuse(why, connection, detail)
    }

    private func refuse(_ why: AgentRefusal, _ connection: AgentConnectionState, _ detail: String,
                        reply: [UInt8] = AgentReply.failure) -> AgentAction {
        refusals[why, default: 0] += 1
        refusalLog.warning(logger, reason: "refused (\(why.rawValue))", "\(detail); caller \(connection.caller)")
        return .reply(reply)
    }

    static func describe(_ content: SignedContent) -> String {
        switch content {
        case let .userAuth(request): "an SSH user authentication (user \(LogText.quoted(request.user)))"
        case let .sshsig(sig): "an SSHSIG in namespace \(LogText.quoted(sig.namespace))"
        case .other: "data that is neither an SSH user authentication nor an SSHSIG"
        }
    }

    static func describe(_ purposes: Set<AgentPurpose>) -> String {
        purposes.map(\.description).sorted().joined(separator: " ")
    }

    static func fingerprint(_ blob: [UInt8]) -> String {
        SSHPublicKey.fingerprint(sha256: Digest.sha256.hash(blob))
    }
}
