import SecmodBase
import SecmodConfig
import SecmodCrypto
import SecmodKeys
import SecmodSystem
import SecmodWire

/// The RSA helper's keys: denomination keys that blind-sign coins (wire.md §4, §7.2, §9).
/// One key chain per `[coin_*]` section with `CIPHER = RSA`.
public struct RsaFamily: KeyFamily {
    public typealias Material = RsaPrivateKey

    /// The section Taler's exchange uses; `--section-prefix` chooses another (`settings.section`).
    public static let section = "taler-exchange-secmod-rsa"
    public static let sectionSuffix = "secmod-rsa"
    public static let extraOptions: Set<String> = ["rsa_engine"]

    public let name = "rsa"
    public let groups: [KeyGroup]
    /// Per group: the section name with its NUL, hashed once for every announcement.
    private let sectionHashes: [[UInt8]]
    private let keySizes: [Int]
    public let engine: RsaEngineKind
    public let messageTypes = FamilyMessageTypes(
        initialize: RsaMessageType.initialize, synced: RsaMessageType.synced, signFailure: RsaMessageType.signFailure,
        helperToClient: [RsaMessageType.purge, RsaMessageType.avail, RsaMessageType.signature,
                         RsaMessageType.signFailure, RsaMessageType.batchFailure, RsaMessageType.synced])
    /// A 8192-bit key file is about 5 KiB; Taler accepts up to 16 KiB.
    public let maximumKeyFileSize = 16 * 1024
    /// One line per `CIPHER = CS` denomination: Taler's Clause-Schnorr helper serves those.
    public let startupNotices: [String]

    public init(configuration c: Configuration, settings: HelperSettings) throws(SecmodError) {
        let engineName = try c.choice(section: settings.section, option: "RSA_ENGINE",
                                      among: RsaEngineKind.allCases.map(\.rawValue)) ?? RsaEngineKind.openssl.rawValue
        engine = RsaEngineKind(rawValue: engineName)!
        var groups: [KeyGroup] = []
        var hashes: [[UInt8]] = []
        var sizes: [Int] = []
        let (rsaSections, csSections) = try Self.denominationSections(c)
        var notices = csSections.map {
            "[\($0)] has CIPHER = CS: its keys are left to a Clause-Schnorr helper (taler-exchange-secmod-cs), which must keep running"
        }
        if rsaSections.isEmpty {
            notices.append("no [coin_*] section has CIPHER = RSA: this helper has no denomination to serve")
        }
        startupNotices = notices
        for section in rsaSections {
            let duration = try c.require(c.time(section: section, option: "DURATION_WITHDRAW"), section: section, option: "DURATION_WITHDRAW")
            let bits = try c.require(c.number(section: section, option: "RSA_KEYSIZE"), section: section, option: "RSA_KEYSIZE")
            guard (1024...8192).contains(bits) else {
                let at = c.location(section: section, option: "RSA_KEYSIZE").map { "\($0): " } ?? ""
                throw SecmodError(.configValue, "\(at)[\(section)] RSA_KEYSIZE: \(bits) is not between 1024 and 8192")
            }
            let schedule = try settings.schedule(duration: duration, section: section, option: "DURATION_WITHDRAW")
            groups.append(KeyGroup(name: section, schedule: schedule,
                                   directory: KeyDirectory(path: settings.keyDirectory + "/" + section)))
            hashes.append(SHA512.hash(Array(section.utf8) + [0]))
            sizes.append(Int(bits))
        }
        self.groups = groups
        sectionHashes = hashes
        keySizes = sizes
    }

    /// The `[coin_*]` / `[coin-*]` sections whose `CIPHER` is exactly `RSA` (Taler compares
    /// case-sensitively). A denomination section without a known cipher is an error: Taler
    /// skips it with a log line, which leaves a denomination without keys unnoticed.
    static func denominationSections(_ c: Configuration) throws(SecmodError) -> (rsa: [String], cs: [String]) {
        var result: [String] = []
        var cs: [String] = []
        for section in c.sectionNames {
            let lower = section.asciiLowercased
            guard lower.hasPrefix("coin_") || lower.hasPrefix("coin-") else { continue }
            guard let cipher = try c.string(section: section, option: "CIPHER") else {
                throw SecmodError(.configMissing, "[\(section)] has no CIPHER; set CIPHER = RSA or CIPHER = CS")
            }
            switch cipher {
            case "RSA": result.append(section)
            case "CS": cs.append(section)
            default:
                let at = c.location(section: section, option: "CIPHER").map { "\($0): " } ?? ""
                throw SecmodError(.configValue, "\(at)[\(section)] CIPHER: '\(cipher)' is neither RSA nor CS (case matters)")
            }
        }
        return (result, cs)
    }

    public func isPlausibleKeyFileSize(_ size: Int64) -> Bool { size > 0 && size <= Int64(maximumKeyFileSize) }

    public func algorithm(group: Int) -> KeyAlgorithm { .rsa(bits: keySizes[group]) }

    public var unavailableReply: [UInt8] {
        SignFailure.encode(type: RsaMessageType.signFailure, code: .denominationHelperUnavailable)
    }

    public var fileStore: FileKeyStore { FileKeyStore(rsaEngine: engine) }

    public func material(_ key: StoredKey) throws(SecmodError) -> RsaPrivateKey {
        guard case let .rsa(rsa) = key else { throw SecmodError(.keyFile, "an \(key.algorithmName) key is not an RSA key") }
        return rsa
    }

    public func announce(_ key: RsaPrivateKey, group: Int, anchor: Timestamp, duration: RelativeTime,
                         securityModule: any Ed25519Signer) throws(SecmodError) -> KeyAnnouncement {
        let encoded = key.publicKey.encoded()
        let hash = key.publicKey.hash
        let signed = SignaturePurpose.denominationKeyAnnouncement(
            purpose: SignaturePurpose.smRsaDenominationKey, denominationHash: hash,
            sectionNameHash: sectionHashes[group], anchor: anchor, duration: duration)
        let avail = RsaKeyAvailable(anchor: anchor, durationWithdraw: duration,
                                    securityModulePublicKey: securityModule.publicKey,
                                    securityModuleSignature: try securityModule.sign(signed),
                                    publicKey: encoded, section: groups[group].name)
        return KeyAnnouncement(id: hash, avail: avail.encode(), purge: RsaKeyMessage.encode(type: RsaMessageType.purge, hash: hash))
    }

    public func handle(request: [UInt8], header: MessageHeader, keys: KeyRegistry<RsaPrivateKey>, now: UInt64) -> RequestOutcome {
        switch header.type {
        case RsaMessageType.sign:
            guard let parsed = try? RsaSignRequest.parse(request, range: 0..<request.count), !parsed.message.isEmpty else {
                return .violation(reason: "RSA SIGN with no blinded message")
            }
            return .reply([item(for: parsed, in: request, keys: keys, now: now)], trailer: nil)
        case RsaMessageType.batchSign:
            guard let walk = try? RsaBatchSignRequest.walk(request) else {
                return .violation(reason: "RSA BATCH_SIGN with a bad header (size, or batch_size 0 or over 256)")
            }
            let items = walk.requests.map { parsed in
                parsed.map { item(for: $0, in: request, keys: keys, now: now) } ?? failure(.genericParameterMalformed)
            }
            let trailer = walk.brokePartWay
                ? SignFailure.encode(type: RsaMessageType.batchFailure, code: .genericInternalInvariantFailure) : nil
            return .reply(items, trailer: trailer)
        case RsaMessageType.revoke:
            guard let hash = try? RsaKeyMessage.decodeHash(request) else {
                return .violation(reason: "RSA REVOKE is not 72 bytes")
            }
            return .revoke(id: hash)
        default:
            return unknownType(header.type, messageTypes: messageTypes)
        }
    }

    /// One signature: refused at once for an unknown (1005) or future (1702) key, else
    /// computed by a worker; m ≥ n and failed self-checks answer 60.
    private func item(for parsed: RsaSignRequest.Parsed, in request: [UInt8], keys: KeyRegistry<RsaPrivateKey>, now: UInt64) -> WorkItem {
        guard let key = keys.key(id: parsed.hash) else { return failure(.denominationKeyUnknown) }
        guard key.anchor.microseconds <= now else { return failure(.denominationHelperTooEarly) }
        let material = key.material, audit = key.audit
        let range = parsed.message
        return .sign(.onWorker {
            // No signature that the audit count on disk does not already include, and none by
            // a key revoked or expired while this request waited.
            switch audit.admit() {
            case .admitted: break
            case .retired: return SignFailure.encode(type: RsaMessageType.signFailure, code: .denominationKeyUnknown)
            case .unrecordable, .wouldBlock: return SignFailure.encode(type: RsaMessageType.signFailure, code: .denominationHelperUnavailable)
            }
            do throws(SecmodError) {
                return RsaSignature.encode(try material.sign(blindedMessage: Array(request[range])))
            } catch {
                audit.release()  // m >= n, m = 0, a failed self-check or a failed token: nothing was signed
                // A token that failed is the helper's trouble, not the request's.
                return SignFailure.encode(type: RsaMessageType.signFailure,
                                          code: error.code == .token ? .denominationHelperUnavailable : .genericInternalInvariantFailure)
            }
        })
    }

    private func failure(_ code: TalerErrorCode) -> WorkItem {
        .immediate(SignFailure.encode(type: RsaMessageType.signFailure, code: code))
    }
}
