import ArgumentParser
import SecmodBase
import SecmodCrypto
import SecmodOffline
import SecmodSystem
import SecmodWire

// The offline signing flow (docs/offline-signing.md, offline-documents.md §4):
//   online:  secmod download  > keys.json
//   offline: secmod show keys.json; secmod sign keys.json > sigs.json
//   online:  secmod upload sigs.json

/// Runs a body that throws `SecmodError` and turns the error into a one-line CLI failure.
func offlineRun<T>(_ body: () throws(SecmodError) -> T) throws -> T {
    do throws(SecmodError) { return try body() } catch { throw CLIError(error) }
}

/// The --exchange option, else `[exchange] BASE_URL`.
func exchangeBaseURL(_ option: String?, _ settings: OfflineSettings) throws(SecmodError) -> String? {
    if let option { return option }
    return try settings.baseURL()
}

struct OfflineSetup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "setup",
        abstract: "Create the offline master key (once, on the offline machine) and print its public key.",
        discussion: """
            Writes a new random Ed25519 seed to [exchange-offline] MASTER_PRIV_FILE (default \
            ${TALER_DATA_HOME}exchange-offline/master.priv), mode 0400, and prints the public \
            key for the exchange's [exchange] MASTER_PUBLIC_KEY. An existing key is never \
            replaced: its public key is printed instead.
            """)

    @Option(name: [.customShort("c"), .long], help: "Configuration file.")
    var config: String?

    func run() throws {
        try offlineRun { () throws(SecmodError) in
            let settings = try OfflineSettings(file: config)
            let path = try settings.masterKeyPath()
            let key: Ed25519PrivateKey
            if FileSystem.exists(path) {
                key = try MasterKey.load(path: path)
                OfflineIO.note("master key \(path) already exists (not replaced); its public key:")
            } else {
                key = try MasterKey.create(path: path)
                OfflineIO.note("created master key \(path) (mode 0400); back it up offline. Its public key, for [exchange] MASTER_PUBLIC_KEY:")
            }
            try OfflineIO.write(CrockfordBase32.encode(key.publicKey) + "\n", to: nil)
        }
    }
}

struct OfflineDownload: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "download",
        abstract: "Write the exchange's future keys, for the offline machine to review and sign.",
        discussion: """
            Writes {"operation": "exchange-input-keys-0", "arguments": ...}. The keys come from \
            the exchange (GET <URL>management/keys; --exchange, else [exchange] BASE_URL), or with \
            --helpers straight from the two helpers named by the configuration, with value, fees \
            and expiries from its [coin_*] sections, as the exchange computes them. Every \
            security module signature is checked: an invalid one fails the download.
            """)

    @Option(name: [.customShort("c"), .long], help: "Configuration file.")
    var config: String?

    @Option(name: .long, help: "The exchange's base URL (http:// or https://).")
    var exchange: String?

    @Flag(name: .long, help: "Read the keys from the helpers' sockets instead of an exchange.")
    var helpers = false

    @Option(name: [.customShort("o"), .long], help: "Write to this file instead of standard output.")
    var output: String?

    @Option(name: .long, help: "Give up after this many seconds.")
    var timeout: Double = 60

    func validate() throws {
        if helpers && exchange != nil { throw ValidationError("give either --exchange URL or --helpers, not both") }
        try validateTimeout(timeout, allowZero: false)
    }

    func run() throws {
        try offlineRun { () throws(SecmodError) in
            let settings = try OfflineSettings(file: config)
            let document: JSONValue
            let keys: FutureKeys
            if helpers {
                keys = try HelperKeySource.collect(settings, timeout: timeout)
                try KeyReview(keys).requireNoProblems("the helpers' keys")
                document = OfflineOperation.wrapInputKeys(keys.json)
            } else {
                guard let base = try exchangeBaseURL(exchange, settings) else {
                    throw SecmodError(.usage, "where from? Give --exchange URL, set [exchange] BASE_URL in the configuration, or use --helpers")
                }
                let url = try ExchangeHTTP.managementKeysURL(base: base)
                let response = try ExchangeHTTP.get(url, timeout: timeout)
                guard response.status == 200 else {
                    throw SecmodError(.unavailable, "GET \(url.absoluteString) answered HTTP \(response.status) (\(ExchangeHTTP.describe(response)))")
                }
                let reply: JSONValue
                do throws(SecmodError) {
                    reply = try JSONValue.parse(response.body)
                    keys = try FutureKeys(arguments: reply, currency: try settings.currencyIfSet())
                } catch {
                    throw SecmodError(error.code, "the reply of GET \(url.absoluteString) is not a future-keys document: \(error.message)")
                }
                if let expected = try settings.masterPublicKey(), expected != keys.masterPublicKey {
                    throw SecmodError(.crypto, "the exchange's master_pub \(CrockfordBase32.encode(keys.masterPublicKey)) is not [exchange] MASTER_PUBLIC_KEY = \(CrockfordBase32.encode(expected)) of this configuration: wrong exchange?")
                }
                try KeyReview(keys).requireNoProblems("the exchange's future keys")
                document = OfflineOperation.wrapInputKeys(reply)
            }
            // As taler-exchange-offline prints it: JSON_INDENT(2), no trailing newline.
            try OfflineIO.write(document.rendered(indent: 2), to: output)
            OfflineIO.note("downloaded \(keys.denominations.count) denomination key(s) and \(keys.signingKeys.count) signing key(s); every security module signature is valid")
        }
    }
}

struct OfflineShow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Review future keys before signing: value, fees, validity, key hash, module signature.",
        discussion: """
            Reads the document `download` wrote (FILE, or standard input) and prints a table to \
            standard error. When standard output is not a terminal, the document is copied to \
            it unchanged, so `secmod download | secmod show | secmod sign` works; if \
            anything is wrong (an invalid module signature, changed module keys, another master \
            key), nothing is copied and the exit status is 1. Writes no files.
            """)

    @Option(name: [.customShort("c"), .long], help: "Configuration file (as for sign).")
    var config: String?

    @Argument(help: "The future-keys document; '-' or nothing for standard input.")
    var input: String?

    func run() throws {
        try offlineRun { () throws(SecmodError) in
            let settings = try OfflineSettings(file: config)
            let bytes = try OfflineIO.readInput(input)
            let arguments = try OfflineOperation.unwrapInputKeys(try JSONValue.parse(bytes))
            let currency = try settings.currencyIfSet()
            let keys = try FutureKeys(arguments: arguments, currency: currency)
            let expectations: (String) throws(SecmodError) -> KeyReview.Expectations
            if let currency {
                expectations = settings.expectations(currency: currency)
            } else {
                expectations = { (section: String) throws(SecmodError) in
                    KeyReview.Expectations(ageMask: try settings.ageMask(section: section), value: nil, fees: [:])
                }
            }
            let review = try KeyReview(keys, expectations: expectations)
            var problems = review.problems
            var lines: [String] = []
            lines.append("master_pub   \(CrockfordBase32.encode(keys.masterPublicKey))  \(try masterStatus(settings, keys, &problems))")
            lines.append("module keys  RSA \(ModuleKeyPins.describe(keys.securityModuleKeys.rsa))")
            lines.append("             CS  \(ModuleKeyPins.describe(keys.securityModuleKeys.cs))")
            lines.append("             EdDSA \(ModuleKeyPins.describe(keys.securityModuleKeys.eddsa))")
            lines.append("             \(try pinStatus(settings, keys, &problems))")
            if currency == nil { lines.append("currency     not checked: [taler] CURRENCY is not set") }
            lines.append("")
            lines += OfflineTable.render(review)
            lines.append("")
            if problems.isEmpty {
                lines.append("\(keys.denominations.count) denomination key(s), \(keys.signingKeys.count) signing key(s): every module signature is valid. Check value, fees and dates, then sign.")
            } else {
                lines.append("DO NOT SIGN: \(problems.count) problem(s):")
                lines += problems.map { "  " + $0 }
            }
            OfflineIO.note(lines.joined(separator: "\n"))
            guard problems.isEmpty else {
                throw SecmodError(.crypto, "the future keys failed review (\(problems.count) problem(s), listed above)")
            }
            if !OfflineIO.isTerminal(1) { try OfflineIO.writeStandardOutput(bytes) }
        }
    }

    private func masterStatus(_ settings: OfflineSettings, _ keys: FutureKeys, _ problems: inout [String]) throws(SecmodError) -> String {
        let path = try settings.masterKeyPath()
        let expected: [UInt8]
        let source: String
        if FileSystem.exists(path) {
            do throws(SecmodError) { expected = try MasterKey.load(path: path).publicKey } catch {
                problems.append(error.message)
                return "(master key unusable)"
            }
            source = "master key \(path)"
        } else if let configured = try settings.masterPublicKey() {
            expected = configured
            source = "[exchange] MASTER_PUBLIC_KEY"
        } else {
            return "(not checked: no master key at \(path) and no [exchange] MASTER_PUBLIC_KEY)"
        }
        if expected == keys.masterPublicKey { return "(matches \(source))" }
        problems.append("the document's master_pub is not the public key of \(source) (\(CrockfordBase32.encode(expected))): the exchange uses a different master key")
        return "(DIFFERENT from \(source))"
    }

    private func pinStatus(_ settings: OfflineSettings, _ keys: FutureKeys, _ problems: inout [String]) throws(SecmodError) -> String {
        let file = try settings.pinFilePath()
        do throws(SecmodError) {
            switch try ModuleKeyPins.check(keys.securityModuleKeys, file: file, configuredPins: try settings.configuredPins()) {
            case .matches: return "match the pinned keys in \(file)"
            case .firstUse: return "not pinned yet: sign will pin them in \(file) (first use)"
            }
        } catch {
            problems.append(error.message)
            return "DO NOT MATCH the pins (see below)"
        }
    }
}

/// `secmod sign` without `--helper`: signs future keys with the offline master key, on the
/// offline machine. Reads the document `download` wrote (FILE, or standard input), checks it
/// against the master key ([exchange-offline] MASTER_PRIV_FILE, mode 0400) and the pinned
/// security module keys ([exchange-offline] SECM_TOFU_FILE, written on first use after
/// checking the SECM_*_PUBKEY options), verifies every module signature, and writes the
/// exchange-upload-sigs-0 document for `upload`. Any problem: exit 1, no output.
enum OfflineSign {
    static func run(config: String?, input: String?, output: String?) throws {
        try offlineRun { () throws(SecmodError) in
            let settings = try OfflineSettings(file: config)
            let currency = try settings.currency()
            let bytes = try OfflineIO.readInput(input)
            let keys = try FutureKeys(arguments: try OfflineOperation.unwrapInputKeys(try JSONValue.parse(bytes)), currency: currency)
            let masterPath = try settings.masterKeyPath()
            let masterKey = try MasterKey.load(path: masterPath)
            guard masterKey.publicKey == keys.masterPublicKey else {
                throw SecmodError(.crypto, "the exchange uses a different master key: the document's master_pub is \(CrockfordBase32.encode(keys.masterPublicKey)), but master key \(masterPath) has public key \(CrockfordBase32.encode(masterKey.publicKey))")
            }
            let pinFile = try settings.pinFilePath()
            let pins = try ModuleKeyPins.check(keys.securityModuleKeys, file: pinFile, configuredPins: try settings.configuredPins())
            let review = try KeyReview(keys, expectations: settings.expectations(currency: currency))
            try review.requireNoProblems("refusing to sign anything")
            if pins == .firstUse {
                try ModuleKeyPins.pin(keys.securityModuleKeys, file: pinFile)
                OfflineIO.note("first use: pinned the security module keys in \(pinFile)")
            }
            let signatures = review.sign(with: masterKey)
            // As taler-exchange-offline prints it: JSON_INDENT(2), no trailing newline.
            try OfflineIO.write(signatures.document.rendered(indent: 2), to: output)
            OfflineIO.note("signed \(signatures.denominations.count) denomination key(s) and \(signatures.signingKeys.count) signing key(s)")
        }
    }
}

struct OfflineUpload: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upload",
        abstract: "Send the master signatures that sign wrote to the exchange.",
        discussion: """
            POSTs each exchange-upload-sigs-0 operation to <URL>management/keys (--exchange, else \
            [exchange] BASE_URL) and reports the answer. Success is HTTP 204.
            """)

    @Option(name: [.customShort("c"), .long], help: "Configuration file.")
    var config: String?

    @Option(name: .long, help: "The exchange's base URL (http:// or https://).")
    var exchange: String?

    @Argument(help: "The signatures; '-' or nothing for standard input.")
    var input: String?

    @Option(name: .long, help: "Give up after this many seconds.")
    var timeout: Double = 60

    func validate() throws { try validateTimeout(timeout, allowZero: false) }

    func run() throws {
        try offlineRun { () throws(SecmodError) in
            let settings = try OfflineSettings(file: config)
            guard let base = try exchangeBaseURL(exchange, settings) else {
                throw SecmodError(.usage, "where to? Give --exchange URL or set [exchange] BASE_URL in the configuration")
            }
            let url = try ExchangeHTTP.managementKeysURL(base: base)
            let operations = try UploadSignatures.operations(in: try JSONValue.parse(try OfflineIO.readInput(input)))
            for (i, operation) in operations.enumerated() {
                let response = try ExchangeHTTP.post(url, json: operation.arguments, timeout: timeout)
                let what = "\(operation.denominations.count) denomination and \(operation.signingKeys.count) signing key signature(s)"
                guard response.status == 204 else {
                    throw SecmodError(.helperRefused, "upload of operation \(i + 1) of \(operations.count) (\(what)) failed: POST \(url.absoluteString) answered HTTP \(response.status) (\(ExchangeHTTP.describe(response))); the exchange stored none of this operation's keys")
                }
                try OfflineIO.write("exchange accepted \(what): HTTP \(response.status)\n", to: nil)
            }
        }
    }
}
