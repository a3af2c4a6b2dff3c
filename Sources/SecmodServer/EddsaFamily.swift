import SecmodBase
import SecmodConfig
import SecmodCrypto
import SecmodKeys
import SecmodSystem
import SecmodWire

/// The EdDSA helper's keys: the exchange's online signing keys (wire.md §5, §7.1, §9.5).
public struct EddsaFamily: KeyFamily {
    public typealias Material = any Ed25519Signer

    /// The section Taler's exchange uses; `--section-prefix` chooses another (`settings.section`).
    public static let section = "taler-exchange-secmod-eddsa"
    public static let sectionSuffix = "secmod-eddsa"

    public let name = "eddsa"
    public let groups: [KeyGroup]
    public let messageTypes = FamilyMessageTypes(
        initialize: EddsaMessageType.initialize, synced: EddsaMessageType.synced,
        signFailure: EddsaMessageType.signFailure,
        helperToClient: [EddsaMessageType.purge, EddsaMessageType.avail, EddsaMessageType.signature,
                         EddsaMessageType.signFailure, EddsaMessageType.synced])
    /// A seed file, or a token key's reference.
    public let maximumKeyFileSize = KeyReference.maximumSize
    public let startupNotices: [String] = []

    /// Reads `DURATION` and the shared options of `[taler-exchange-secmod-eddsa]` (or the
    /// section `--section-prefix` names).
    public init(configuration: Configuration, settings: HelperSettings) throws(SecmodError) {
        let s = settings.section
        let duration = try configuration.require(configuration.time(section: s, option: "DURATION"), section: s, option: "DURATION")
        let schedule = try settings.schedule(duration: duration, section: s, option: "DURATION")
        groups = [KeyGroup(name: "", schedule: schedule, directory: KeyDirectory(path: settings.keyDirectory))]
    }

    public static let extraOptions: Set<String> = ["duration"]

    /// Signing hashes the whole purpose: a request with a larger one (up to 64 KiB, about
    /// 0.25 ms to sign) always goes to a worker, so that signing on the loop never holds it up
    /// for longer than a small signature takes.
    static let quickPurposeBytes = 1024

    /// A key this close to its expiry (µs) signs only if no younger key is valid.
    static let expiryMargin: UInt64 = 1_000_000

    public func isPlausibleKeyFileSize(_ size: Int64) -> Bool {
        size == Int64(Ed25519PrivateKey.seedByteCount) || KeyReference.isPlausibleSize(size)
    }

    public func algorithm(group: Int) -> KeyAlgorithm { .ed25519 }

    public var unavailableReply: [UInt8] {
        SignFailure.encode(type: EddsaMessageType.signFailure, code: .signkeyHelperUnavailable)
    }

    public func material(_ key: StoredKey) throws(SecmodError) -> any Ed25519Signer {
        guard case let .ed25519(signer) = key else { throw SecmodError(.keyFile, "an \(key.algorithmName) key is not an EdDSA key") }
        return signer
    }

    public func announce(_ key: any Ed25519Signer, group: Int, anchor: Timestamp, duration: RelativeTime,
                         securityModule: any Ed25519Signer) throws(SecmodError) -> KeyAnnouncement {
        let signed = SignaturePurpose.signingKeyAnnouncement(exchangePublicKey: key.publicKey, anchor: anchor, duration: duration)
        let avail = EddsaKeyAvailable(anchor: anchor, duration: duration, securityModulePublicKey: securityModule.publicKey,
                                      securityModuleSignature: try securityModule.sign(signed), exchangePublicKey: key.publicKey)
        return KeyAnnouncement(id: key.publicKey, avail: avail.encode(),
                               purge: EddsaKeyMessage.encode(type: EddsaMessageType.purge, publicKey: key.publicKey))
    }

    public func handle(request: [UInt8], header: MessageHeader, keys: KeyRegistry<any Ed25519Signer>, now: UInt64) -> RequestOutcome {
        switch header.type {
        case EddsaMessageType.sign:
            guard request.count >= EddsaSignRequest.minimumByteCount else {
                return .violation(reason: "EdDSA SIGN shorter than 16 bytes")
            }
            // A purpose size that disagrees with the message is answered, not fatal (wire.md §5.3).
            guard let range = try? EddsaSignRequest.purposeRange(request) else {
                return failure(.genericParameterMalformed)
            }
            // Revoked keys are no longer in the registry.
            let ordered = keys.ordered
            guard let index = Self.signingKeyIndex(anchors: ordered.lazy.map(\.anchor), schedule: groups[0].schedule, now: now) else {
                return failure(.keysMissing)
            }
            let key = ordered[index]
            let material = key.material, audit = key.audit
            // A key in a token never signs on the loop: its call may take long, or hang.
            return .reply([.sign(.quick(when: range.count <= Self.quickPurposeBytes && material.signsInProcess) { mayBlock in
                // No signature that the audit count on disk does not already include, and none
                // by a key revoked or expired while this request waited.
                switch audit.admit(mayWrite: mayBlock) {
                case .admitted: break
                case .wouldBlock: return nil
                case .retired: return SignFailure.encode(type: EddsaMessageType.signFailure, code: .keysMissing)
                case .unrecordable: return SignFailure.encode(type: EddsaMessageType.signFailure, code: .signkeyHelperUnavailable)
                }
                do throws(SecmodError) {
                    return EddsaSignature(publicKey: material.publicKey, signature: try material.sign(request, range: range)).encode()
                } catch {
                    audit.release()  // a token that failed: nothing was signed
                    return SignFailure.encode(type: EddsaMessageType.signFailure, code: .signkeyHelperUnavailable)
                }
            })], trailer: nil)
        case EddsaMessageType.revoke:
            guard let publicKey = try? EddsaKeyMessage.decodePublicKey(request) else {
                return .violation(reason: "EdDSA REVOKE is not 40 bytes")
            }
            return .revoke(id: publicKey)
        default:
            return unknownType(header.type, messageTypes: messageTypes)
        }
    }

    /// Which of the served keys (`anchors`, oldest first) signs now: the oldest valid one
    /// (wire.md §9.5), passing over one that expires within `expiryMargin` while a younger
    /// key is valid. A request that waits behind others would otherwise race its key's
    /// expiry and be refused at the worker, unsigned.
    static func signingKeyIndex<Anchors: Collection<Timestamp>>(anchors: Anchors, schedule: KeySchedule,
                                                                now: UInt64) -> Anchors.Index? {
        var oldestValid: Anchors.Index?
        for i in anchors.indices where schedule.isValid(anchor: anchors[i], now: now) {
            if !schedule.isExpired(anchor: anchors[i], now: now &+ expiryMargin) { return i }
            if oldestValid == nil { oldestValid = i }
        }
        return oldestValid
    }

    private func failure(_ code: TalerErrorCode) -> RequestOutcome {
        .reply([.immediate(SignFailure.encode(type: EddsaMessageType.signFailure, code: code))], trailer: nil)
    }
}

/// A type no client sends: dropped on a datagram session, fatal on a stream connection
/// (Taler's helpers close it, and its clients react to the close).
func unknownType(_ type: UInt16, messageTypes: FamilyMessageTypes) -> RequestOutcome {
    // Fixed reasons: the rate limit is per reason, so a type in it would let a client that
    // cycles through types log without limit.
    if messageTypes.helperToClient.contains(type) {
        return .drop(reason: "dropped a helper-to-client message sent by a client")
    }
    return .drop(reason: "dropped a message of unknown type")
}
