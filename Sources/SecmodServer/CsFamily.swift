import SecmodBase
import SecmodConfig
import SecmodCrypto
import SecmodKeys
import SecmodSystem
import SecmodWire

/// The Clause-Schnorr helper's keys: denomination keys for `CIPHER = CS` (wire.md §6).
/// One key chain per `[coin_*]` section with `CIPHER = CS`; the same schedule, revocation,
/// audit counters and transports as the RSA helper's, and two requests instead of one: a
/// client first asks for R₀, R₁ of a nonce (RDERIVE), then for the signature over its
/// blinded challenges (SIGN).
public struct CsFamily: KeyFamily {
    public typealias Material = ClauseSchnorrKey

    public static let section = "taler-exchange-secmod-cs"
    public static let sectionSuffix = "secmod-cs"
    public static let extraOptions: Set<String> = ["cs_wire"]

    public let name = "cs"
    public let groups: [KeyGroup]
    /// Per group: SHA-512 of the section name with its NUL, hashed once for every announcement.
    private let sectionHashes: [[UInt8]]
    /// The SIGNATURE layout (`CS_WIRE`).
    public let wire: CsWireVersion
    public let messageTypes = FamilyMessageTypes(
        initialize: CsMessageType.initialize, synced: CsMessageType.synced, signFailure: CsMessageType.signFailure,
        helperToClient: [CsMessageType.purge, CsMessageType.avail, CsMessageType.signature, CsMessageType.signFailure,
                         CsMessageType.batchSignFailure, CsMessageType.deriveResponse, CsMessageType.deriveFailure,
                         CsMessageType.batchDeriveFailure, CsMessageType.synced])
    /// A key file is the 32-byte scalar.
    public let maximumKeyFileSize = ClauseSchnorrKey.scalarByteCount
    public let startupNotices: [String]

    public init(configuration c: Configuration, settings: HelperSettings) throws(SecmodError) {
        guard settings.keyStore == .file else {
            throw SecmodError(.configValue, "[\(settings.section)] KEY_STORE = pkcs11: Clause-Schnorr keys cannot live in a PKCS#11 token (PKCS#11 has no Clause-Schnorr mechanism); use KEY_STORE = file (SM_KEY_STORE = pkcs11 is fine)")
        }
        let wireName = try c.choice(section: settings.section, option: "CS_WIRE", among: CsWireVersion.allCases.map(\.rawValue))
        wire = wireName.flatMap(CsWireVersion.init(rawValue:)) ?? .current
        let (rsaSections, csSections) = try RsaFamily.denominationSections(c)
        var notices = rsaSections.isEmpty ? [] : [
            "\(rsaSections.count) [coin_*] sections have CIPHER = RSA: their keys are left to the RSA helper (taler-exchange-secmod-rsa), which must keep running",
        ]
        if csSections.isEmpty {
            notices.append("no [coin_*] section has CIPHER = CS: this helper has no denomination to serve")
        }
        notices.append("SIGNATURE messages in the \(wire == .current ? "current (Taler 0.14, 40-byte)" : "Taler 0.9 (44-byte)") layout (CS_WIRE)")
        startupNotices = notices
        var groups: [KeyGroup] = []
        var hashes: [[UInt8]] = []
        for section in csSections {
            let duration = try c.require(c.time(section: section, option: "DURATION_WITHDRAW"), section: section, option: "DURATION_WITHDRAW")
            let schedule = try settings.schedule(duration: duration, section: section, option: "DURATION_WITHDRAW")
            groups.append(KeyGroup(name: section, schedule: schedule, directory: KeyDirectory(path: settings.keyDirectory + "/" + section)))
            hashes.append(SHA512.hash(Array(section.utf8) + [0]))
        }
        self.groups = groups
        sectionHashes = hashes
    }

    public func isPlausibleKeyFileSize(_ size: Int64) -> Bool { size == Int64(ClauseSchnorrKey.scalarByteCount) }

    public func algorithm(group: Int) -> KeyAlgorithm { .clauseSchnorr }

    public var unavailableReply: [UInt8] {
        SignFailure.encode(type: CsMessageType.signFailure, code: .denominationHelperUnavailable)
    }

    public func material(_ key: StoredKey) throws(SecmodError) -> ClauseSchnorrKey {
        guard case let .clauseSchnorr(cs) = key else { throw SecmodError(.keyFile, "an \(key.algorithmName) key is not a Clause-Schnorr key") }
        return cs
    }

    public func announce(_ key: ClauseSchnorrKey, group: Int, anchor: Timestamp, duration: RelativeTime,
                         securityModule: any Ed25519Signer) throws(SecmodError) -> KeyAnnouncement {
        let hash = SHA512.hash(key.publicKey)
        let signed = SignaturePurpose.denominationKeyAnnouncement(
            purpose: SignaturePurpose.smCsDenominationKey, denominationHash: hash,
            sectionNameHash: sectionHashes[group], anchor: anchor, duration: duration)
        let avail = CsKeyAvailable(anchor: anchor, durationWithdraw: duration, securityModulePublicKey: securityModule.publicKey,
                                   securityModuleSignature: try securityModule.sign(signed), publicKey: key.publicKey,
                                   section: groups[group].name)
        return KeyAnnouncement(id: hash, avail: avail.encode(), purge: CsKeyMessage.encode(type: CsMessageType.purge, hash: hash))
    }

    public func handle(request: [UInt8], header: MessageHeader, keys: KeyRegistry<ClauseSchnorrKey>, now: UInt64) -> RequestOutcome {
        var lookup = KeyLookup(keys: keys)
        switch header.type {
        case CsMessageType.sign, CsMessageType.derive:
            let sign = header.type == CsMessageType.sign
            guard request.count == (sign ? CsRequest.signByteCount : CsRequest.deriveByteCount) else {
                return .violation(reason: sign ? "CS SIGN is not 168 bytes" : "CS RDERIVE is not 104 bytes")
            }
            return .reply([item(in: request, at: CsRequest.Fields(sign: sign, offset: 0), lookup: &lookup, now: now)], trailer: nil)
        case CsMessageType.batchSign, CsMessageType.batchDerive:
            let sign = header.type == CsMessageType.batchSign
            guard let layout = try? CsBatchRequest.layout(request, sign: sign) else {
                return .violation(reason: "CS batch with a bad header (size, or batch_size 0 or over 256)")
            }
            // Taler's helper ends a batch broken part-way with one failure of this type.
            let trailer = layout.brokePartWay
                ? SignFailure.encode(type: sign ? CsMessageType.batchSignFailure : CsMessageType.deriveFailure,
                                     code: .genericInternalInvariantFailure) : nil
            let size = sign ? CsRequest.signByteCount : CsRequest.deriveByteCount
            var items: [WorkItem] = []
            items.reserveCapacity(layout.items)
            for i in 0..<layout.items {
                items.append(item(in: request, at: CsRequest.Fields(sign: sign, offset: 8 + i * size), lookup: &lookup, now: now))
            }
            return .reply(items, trailer: trailer)
        case CsMessageType.revoke:
            guard let hash = try? CsKeyMessage.decodeHash(request) else {
                return .violation(reason: "CS REVOKE is not 72 bytes")
            }
            return .revoke(id: hash)
        default:
            return unknownType(header.type, messageTypes: messageTypes)
        }
    }

    /// The keys a request's items name. The items of a batch name one key, or a few, one
    /// after another: the 64-byte hash is compared with the last key's in place, and only a
    /// different one is copied out and looked up.
    private struct KeyLookup {
        let keys: KeyRegistry<ClauseSchnorrKey>
        var last: ServedKey<ClauseSchnorrKey>?

        mutating func key(named range: Range<Int>, in request: [UInt8]) -> ServedKey<ClauseSchnorrKey>? {
            if let last, WireKeyID.matches(last.id, request, at: range) { return last }
            guard let found = keys.key(id: Array(request[range])) else { return nil }
            last = found
            return found
        }
    }

    /// One answer: refused at once for an unknown (1005) or future (1702) key; otherwise R₀,
    /// R₁ (not a signature: nothing is counted) or a signature, counted before it leaves.
    /// Both are cheap enough for the loop to make when no worker is busy. The job reads the
    /// nonce and challenges where they lie in `request`, which it keeps until it has run.
    private func item(in request: [UInt8], at fields: CsRequest.Fields, lookup: inout KeyLookup, now: UInt64) -> WorkItem {
        let failureType = fields.isSign ? CsMessageType.signFailure : CsMessageType.deriveFailure
        guard let key = lookup.key(named: fields.hash, in: request) else {
            return .immediate(SignFailure.encode(type: failureType, code: .denominationKeyUnknown))
        }
        guard key.anchor.microseconds <= now else { return .immediate(SignFailure.encode(type: failureType, code: .denominationHelperTooEarly)) }
        let material = key.material, audit = key.audit, wire = self.wire
        let use: ClauseSchnorrKey.Use = fields.forMelt(request) ? .melt : .withdraw
        guard fields.isSign else {
            return .sign(.quick { _ in
                do throws(SecmodError) {
                    return CsDeriveResponse.encode(try material.publicNonces(in: request, nonce: fields.nonce, use: use))
                } catch {
                    return SignFailure.encode(type: CsMessageType.deriveFailure, code: .genericInternalInvariantFailure)
                }
            })
        }
        return .sign(.quick { mayBlock in
            // No signature that the audit count on disk does not already include, and none by
            // a key revoked or expired while this request waited.
            switch audit.admit(mayWrite: mayBlock) {
            case .admitted: break
            case .wouldBlock: return nil
            case .retired: return SignFailure.encode(type: CsMessageType.signFailure, code: .denominationKeyUnknown)
            case .unrecordable: return SignFailure.encode(type: CsMessageType.signFailure, code: .denominationHelperUnavailable)
            }
            do throws(SecmodError) {
                let (b, s) = try material.sign(in: request, challenges: fields.challenges, nonce: fields.nonce, use: use)
                return CsSignature.encode(b: b, s: s, version: wire)
            } catch {
                audit.release()  // a failed self-check: nothing was signed
                return SignFailure.encode(type: CsMessageType.signFailure, code: .genericInternalInvariantFailure)
            }
        })
    }
}
