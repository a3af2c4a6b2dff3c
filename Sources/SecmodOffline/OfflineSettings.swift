import SecmodBase
import SecmodConfig
import SecmodSystem
import SecmodWire

/// What the offline commands read from the configuration (offline-documents.md §4.2), with
/// taler-exchange-offline's defaults.
public struct OfflineSettings {
    public static let section = "exchange-offline"
    public static let defaultMasterKey = "${TALER_DATA_HOME}exchange-offline/master.priv"
    public static let defaultPinFile = "${TALER_DATA_HOME}exchange-offline/secm_tofus.pub"
    /// The shipped `[exchange] SIGNKEY_LEGAL_DURATION` (exchange.conf: `2 years`).
    public static let defaultSigningKeyLegalDuration = RelativeTime(seconds: 2 * 31_536_000)
    public static let ageRestrictionSection = "exchange-extension-age_restriction"

    public let configuration: Configuration
    /// The file given with -c, for messages.
    public let file: String?

    public init(file: String?) throws(SecmodError) {
        configuration = try TalerConfiguration.load(file: file)
        self.file = file
    }

    public init(configuration: Configuration, file: String? = nil) {
        self.configuration = configuration
        self.file = file
    }

    /// `[taler] CURRENCY`: required, 1 to 11 letters.
    public func currency() throws(SecmodError) -> String {
        guard let currency = try currencyIfSet() else {
            throw SecmodError(.configMissing, "configuration option [taler] CURRENCY is not set; set it to the exchange's currency (e.g. 'CURRENCY = KUDOS') in the configuration file given with -c: every amount is checked against it")
        }
        return currency
    }

    public func currencyIfSet() throws(SecmodError) -> String? {
        guard let currency = try configuration.string(section: "taler", option: "CURRENCY") else { return nil }
        do throws(SecmodError) { try Amount.checkCurrency(currency) } catch {
            throw SecmodError(.configValue, "[taler] CURRENCY: \(error.message)")
        }
        return currency
    }

    /// `[exchange-offline] MASTER_PRIV_FILE`.
    public func masterKeyPath() throws(SecmodError) -> String {
        try filename(Self.section, "MASTER_PRIV_FILE", default: Self.defaultMasterKey)
    }

    /// `[exchange-offline] SECM_TOFU_FILE`.
    public func pinFilePath() throws(SecmodError) -> String {
        try filename(Self.section, "SECM_TOFU_FILE", default: Self.defaultPinFile)
    }

    /// `[exchange] MASTER_PUBLIC_KEY`, if set.
    public func masterPublicKey() throws(SecmodError) -> [UInt8]? {
        guard let text = try configuration.string(section: "exchange", option: "MASTER_PUBLIC_KEY") else { return nil }
        do throws(SecmodError) { return try CrockfordBase32.decode(text, byteCount: 32) } catch {
            throw SecmodError(.configValue, "[exchange] MASTER_PUBLIC_KEY: \(error.message)")
        }
    }

    /// `[exchange] BASE_URL`, if set.
    public func baseURL() throws(SecmodError) -> String? {
        try configuration.string(section: "exchange", option: "BASE_URL")
    }

    /// The `SECM_*_PUBKEY` pins, checked on first use only (offline-documents.md §5 step 2). Each is nil when unset.
    public func configuredPins() throws(SecmodError) -> [String: [UInt8]] {
        var pins: [String: [UInt8]] = [:]
        for option in ["SECM_DENOM_PUBKEY", "SECM_DENOM_CS_PUBKEY", "SECM_ESIGN_PUBKEY"] {
            guard let text = try configuration.string(section: Self.section, option: option) else { continue }
            do throws(SecmodError) { pins[option] = try CrockfordBase32.decode(text, byteCount: 32) } catch {
                throw SecmodError(.configValue, "[\(Self.section)] \(option): the pinned module key is malformed: \(error.message)")
            }
        }
        return pins
    }

    /// The age mask Taler uses for a denomination section (offline-documents.md §7.4): `[section] AGE_RESTRICTED
    /// = YES` gives the age-restriction extension's mask if the extension is enabled, else 0.
    public func ageMask(section: String) throws(SecmodError) -> UInt32 {
        guard try configuration.yesno(section: section, option: "AGE_RESTRICTED") == true else { return 0 }
        return try extensionAgeMask() ?? 0
    }

    /// The extension's mask from `AGE_GROUPS` when `[exchange-extension-age_restriction] ENABLED = YES`.
    public func extensionAgeMask() throws(SecmodError) -> UInt32? {
        let s = Self.ageRestrictionSection
        guard try configuration.yesno(section: s, option: "ENABLED") == true else { return nil }
        let groups = try configuration.string(section: s, option: "AGE_GROUPS") ?? AgeMask.defaultGroups
        do throws(SecmodError) { return try AgeMask.parse(groups: groups) } catch {
            throw SecmodError(.configValue, "[\(s)] AGE_GROUPS: \(error.message)")
        }
    }

    /// An amount option of a denomination section, in `currency`; nil when unset.
    public func amount(section: String, option: String, currency: String) throws(SecmodError) -> Amount? {
        guard let text = try configuration.string(section: section, option: option) else { return nil }
        let amount: Amount
        do throws(SecmodError) { amount = try Amount(parsing: text) } catch {
            throw SecmodError(.configValue, "[\(section)] \(option): \(error.message)")
        }
        guard amount.isIn(currency: currency) else {
            throw SecmodError(.configValue, "[\(section)] \(option): '\(text)' is not in the currency \(currency) of [taler] CURRENCY")
        }
        return amount
    }

    /// The name of the configuration for messages.
    public var fileDescription: String { file.map { "'\($0)'" } ?? "the default configuration (no -c given)" }

    private func filename(_ section: String, _ option: String, default value: String) throws(SecmodError) -> String {
        var c = configuration
        if c.rawValue(section: section, option: option) == nil { c.set(section: section, option: option, value: value) }
        return try c.require(c.filename(section: section, option: option), section: section, option: option)
    }
}
