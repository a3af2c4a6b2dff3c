import SecmodBase
import SecmodClient
import SecmodConfig
import SecmodOffline
import SecmodSystem
import SecmodWire

/// `download --helpers`: builds the future-keys document the exchange would serve at
/// `GET /management/keys` (offline-documents.md §2.2-2.4, §7.5) straight from the helpers
/// (the CS helper only when a `[coin_*]` section has `CIPHER = CS`) and the `[coin_*]`
/// sections, so the chain runs without an exchange.
///
/// Unlike the exchange, which has a database, it cannot tell which keys already carry a
/// master signature, so it lists every key the helpers announce. A denomination section
/// with a missing or invalid VALUE, FEE_* or DURATION_* is an error (the exchange logs it
/// and leaves the key out).
enum HelperKeySource {
    static let eddsaSection = "taler-exchange-secmod-eddsa"
    static let rsaSection = "taler-exchange-secmod-rsa"
    static let csSection = "taler-exchange-secmod-cs"

    static func collect(_ settings: OfflineSettings, timeout: Double?) throws(SecmodError) -> FutureKeys {
        let c = settings.configuration
        let currency = try settings.currency()
        guard let masterPublicKey = try settings.masterPublicKey() else {
            throw SecmodError(.configMissing, "configuration option [exchange] MASTER_PUBLIC_KEY is not set; set it to the master public key that 'secmod setup' printed on the offline machine")
        }
        let legal = try c.time(section: "exchange", option: "SIGNKEY_LEGAL_DURATION") ?? OfflineSettings.defaultSigningKeyLegalDuration

        let eddsa = EddsaHelperClient(socketPath: try socketPath(c, eddsaSection), transport: try transport(c, eddsaSection))
        do throws(SecmodError) { try eddsa.connect(timeout: timeout.map { .seconds($0) }) } catch {
            throw SecmodError(error.code, "EdDSA helper ([\(eddsaSection)] UNIXPATH): \(error.message)")
        }
        defer { eddsa.disconnect() }
        let rsa = RsaHelperClient(socketPath: try socketPath(c, rsaSection), transport: try transport(c, rsaSection))
        do throws(SecmodError) { try rsa.connect(timeout: timeout.map { .seconds($0) }) } catch {
            throw SecmodError(error.code, "RSA helper ([\(rsaSection)] UNIXPATH): \(error.message)")
        }
        defer { rsa.disconnect() }

        // The CS helper, if the configuration has CS denominations: without any, the exchange
        // announces an all-zero CS module key (offline-documents.md §2.2), and so does this.
        var csKeys: [CsDenominationKey] = []
        var csModuleKey = [UInt8](repeating: 0, count: 32)
        if try hasCsDenominations(c) {
            let wireName = try c.choice(section: csSection, option: "CS_WIRE", among: CsWireVersion.allCases.map(\.rawValue))
            let cs = CsHelperClient(socketPath: try socketPath(c, csSection), transport: try transport(c, csSection),
                                    wire: wireName.flatMap(CsWireVersion.init(rawValue:)) ?? .current)
            do throws(SecmodError) { try cs.connect(timeout: timeout.map { .seconds($0) }) } catch {
                throw SecmodError(error.code, "CS helper ([\(csSection)] UNIXPATH): \(error.message)")
            }
            defer { cs.disconnect() }
            guard let key = cs.securityModulePublicKey else {
                throw SecmodError(.unavailable, "the CS helper announced no denomination keys, so its module key is unknown (the exchange answers 502 DENOMINATION_HELPER_UNAVAILABLE here)")
            }
            csKeys = cs.keys
            csModuleKey = key
        }

        guard let eddsaModuleKey = eddsa.securityModulePublicKey else {
            throw SecmodError(.unavailable, "the EdDSA helper announced no signing keys, so its module key is unknown (the exchange answers 502 SIGNKEY_HELPER_UNAVAILABLE here)")
        }
        guard let rsaModuleKey = rsa.securityModulePublicKey else {
            throw SecmodError(.unavailable, "the RSA helper announced no denomination keys, so its module key is unknown; is there a [coin_*] section with CIPHER = RSA? (the exchange answers 502 DENOMINATION_HELPER_UNAVAILABLE here)")
        }

        let signingKeys = eddsa.keys.filter { $0.duration != .zero }.map { k in
            let expire = roundDown(k.anchor.adding(k.duration))
            return FutureSigningKey(key: k.publicKey, stampStart: k.anchor, stampExpire: expire,
                                    stampEnd: roundDown(expire.adding(legal)),
                                    secmodSignature: k.securityModuleSignature)
        }

        var denominations: [FutureDenomination] = []
        var sectionCache: [String: SectionMetadata] = [:]
        let announced = rsa.keys.map { (section: $0.section, anchor: $0.anchor, duration: $0.durationWithdraw, cipher: DenominationCipher.rsa,
                                        publicKey: $0.publicKey, signature: $0.securityModuleSignature) }
            + csKeys.map { (section: $0.section, anchor: $0.anchor, duration: $0.durationWithdraw, cipher: DenominationCipher.cs,
                            publicKey: $0.publicKey, signature: $0.securityModuleSignature) }
        for k in announced.sorted(by: { ($0.section, $0.anchor) < ($1.section, $1.anchor) }) where k.duration != .zero {
            let meta: SectionMetadata
            if let cached = sectionCache[k.section] { meta = cached } else {
                meta = try SectionMetadata(settings, section: k.section, currency: currency)
                sectionCache[k.section] = meta
            }
            let withdraw = roundDown(k.anchor.adding(k.duration))
            let deposit = roundDown(withdraw.adding(meta.spend))
            denominations.append(FutureDenomination(
                sectionName: k.section, value: meta.value, stampStart: k.anchor, stampExpireWithdraw: withdraw,
                stampExpireDeposit: deposit, stampExpireLegal: roundDown(deposit.adding(meta.legal)),
                publicKey: DenominationPublicKey(cipher: k.cipher, keyBytes: k.publicKey, ageMask: meta.ageMask),
                fees: meta.fees, secmodSignature: k.signature))
        }
        return FutureKeys(denominations: denominations, signingKeys: signingKeys, masterPublicKey: masterPublicKey,
                          securityModuleKeys: SecurityModuleKeySet(rsa: rsaModuleKey, cs: csModuleKey, eddsa: eddsaModuleKey))
    }

    /// Whether a `[coin_*]` section has `CIPHER = CS` (case-sensitive, as Taler compares).
    static func hasCsDenominations(_ c: Configuration) throws(SecmodError) -> Bool {
        for section in c.sectionNames {
            let lower = section.asciiLowercased
            guard lower.hasPrefix("coin_") || lower.hasPrefix("coin-") else { continue }
            if try c.string(section: section, option: "CIPHER") == "CS" { return true }
        }
        return false
    }

    /// The exchange's view of a denomination section (offline-documents.md §2.3): VALUE, the four fees,
    /// DURATION_SPEND and DURATION_LEGAL are required; the age mask follows AGE_RESTRICTED.
    struct SectionMetadata {
        let value: Amount
        let fees: DenominationFees
        let spend: RelativeTime
        let legal: RelativeTime
        let ageMask: UInt32

        init(_ settings: OfflineSettings, section: String, currency: String) throws(SecmodError) {
            let c = settings.configuration
            func amount(_ option: String) throws(SecmodError) -> Amount {
                try c.require(settings.amount(section: section, option: option, currency: currency), section: section, option: option)
            }
            func duration(_ option: String) throws(SecmodError) -> RelativeTime {
                try c.require(c.time(section: section, option: option), section: section, option: option)
            }
            value = try amount("VALUE")
            fees = DenominationFees(withdraw: try amount("FEE_WITHDRAW"), deposit: try amount("FEE_DEPOSIT"),
                                    refresh: try amount("FEE_REFRESH"), refund: try amount("FEE_REFUND"))
            spend = try duration("DURATION_SPEND")
            legal = try duration("DURATION_LEGAL")
            ageMask = try settings.ageMask(section: section)
        }
    }

    /// `GNUNET_TIME_absolute_to_timestamp`.
    static func roundDown(_ t: Timestamp) -> Timestamp { Timestamp.roundingDown(microseconds: t.microseconds) }

    static func socketPath(_ c: Configuration, _ section: String) throws(SecmodError) -> String {
        try c.require(c.filename(section: section, option: "UNIXPATH"), section: section, option: "UNIXPATH")
    }

    static func transport(_ c: Configuration, _ section: String) throws(SecmodError) -> HelperTransport {
        let type = try c.choice(section: section, option: "SOCKET_TYPE", among: HelperTransport.allCases.map(\.rawValue)) ?? "dgram"
        return HelperTransport(rawValue: type) ?? .datagram
    }
}
