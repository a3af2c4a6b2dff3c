import ArgumentParser
import Foundation
import SecmodBase
import SecmodClient
import SecmodCrypto
import SecmodSystem
import SecmodWire

struct Sign: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "With --helper: sign standard input with a helper. Without: sign future keys with the offline master key.",
        discussion: """
            --helper eddsa: signs the 8-byte purpose header {size, purpose} followed by the input,
            with the helper's current key, as Taler does. --helper rsa: blind-signs the input, read
            as the blinded message (a big-endian integer below n), with the key named by --key
            (h_rsa), or the oldest currently valid key (of --section, if given). --helper cs: asks
            for R0, R1 of a nonce (--nonce, or a random one), then blind-signs the challenges
            c0 || c1 = SHA-512(input), as a wallet's blinded planchet would be; prints b and s,
            which `secmod verify --helper cs` checks (s·B = R_b + c_b·X).

            Without --helper (on the offline machine): reads the document `download` wrote (FILE,
            or standard input), checks it against the master key ([exchange-offline]
            MASTER_PRIV_FILE, mode 0400) and the pinned security module keys ([exchange-offline]
            SECM_TOFU_FILE, written on first use after checking the SECM_*_PUBKEY options),
            verifies every module signature, and writes the exchange-upload-sigs-0 document for
            `upload`. Any problem: exit 1, no output. See docs/offline-signing.md.
            """)

    @Option(name: .long, help: "Sign with this helper (eddsa, rsa or cs); without it, sign future keys offline.")
    var helper: HelperKind?

    @Option(name: [.customShort("c"), .long], help: "Configuration file.")
    var config: String?

    @Option(name: .long, help: "With --helper: give up after this many seconds; 0 waits as long as it takes.")
    var timeout: Double = defaultHelperTimeout

    func validate() throws { try validateTimeout(timeout) }

    @Argument(help: "Offline: the future-keys document; '-' or nothing for standard input.")
    var input: String?

    @Option(name: [.customShort("o"), .long], help: "Offline: write to this file instead of standard output.")
    var output: String?

    @OptionGroup var signing: HelperSigningOptions

    func run() throws {
        guard let helper else {
            // Options that only make sense with a helper: the operator forgot --helper, and
            // must not find the command signing future keys offline instead.
            guard signing.purpose == nil, signing.key == nil, signing.section == nil, signing.nonce == nil, !signing.melt, !signing.json else {
                throw ValidationError("--purpose, --key, --section, --nonce, --melt and --json sign through a helper: add --helper eddsa, rsa or cs (without --helper, sign signs a future-keys document offline)")
            }
            try OfflineSign.run(config: config, input: input, output: output)
            return
        }
        guard input == nil, output == nil else { throw ValidationError("a FILE argument and -o are for offline signing, without --helper") }
        try HelperSigning(helper: helper, config: config, timeout: timeout, options: signing).run()
    }
}

/// The options of signing through a helper, shared by `secmod sign` and `secmod helper sign`.
struct HelperSigningOptions: ParsableArguments {
    @Option(name: .long, help: "eddsa: the GNUnet signature purpose number (0 is GNUNET_SIGNATURE_PURPOSE_TEST).")
    var purpose: UInt32?

    @Option(name: .long, help: "rsa, cs: the key's h_rsa or h_cs, base32.")
    var key: String?

    @Option(name: .long, help: "rsa, cs: pick the oldest currently valid key of this denomination section.")
    var section: String?

    @Option(name: .long, help: "cs: the 32-byte nonce, base32 (default: a random one).")
    var nonce: String?

    @Flag(name: .long, help: "cs: sign for a melt (R derived with \"rm\") instead of a withdrawal.")
    var melt = false

    @Flag(name: .long, help: "Print JSON.")
    var json = false
}

/// `sign --helper`: signs standard input through a running helper (shared by `secmod sign`
/// and `secmod helper sign`).
struct HelperSigning {
    let helper: HelperKind
    let config: String?
    let timeout: Double
    let options: HelperSigningOptions
    var purpose: UInt32? { options.purpose }
    var key: String? { options.key }
    var section: String? { options.section }
    var json: Bool { options.json }

    func run() throws {
        let input = [UInt8](FileHandle.standardInput.readDataToEndOfFile())
        var fields: [(String, String)]
        switch helper {
        case .eddsa:
            guard let purpose else { throw CLIError("--purpose is required for the eddsa helper") }
            let client = try connectEddsa(config: config, timeout: timeout)
            defer { client.disconnect() }
            let result: (publicKey: [UInt8], signature: [UInt8])
            do throws(SecmodError) { result = try client.sign(purpose: purpose, body: input, timeout: helperTimeout(timeout)) } catch {
                throw CLIError(error)
            }
            fields = [("purpose", String(purpose)), ("public_key", CrockfordBase32.encode(result.publicKey)),
                      ("signature", CrockfordBase32.encode(result.signature))]
        case .rsa:
            let client = try connectRsa(config: config, timeout: timeout)
            defer { client.disconnect() }
            let chosen = try chooseRsaKey(client)
            let signature: [UInt8]
            do throws(SecmodError) {
                signature = try client.sign(hash: chosen.hash, blindedMessage: input, timeout: helperTimeout(timeout))
            } catch {
                throw CLIError(error)
            }
            fields = [("section", chosen.section), ("h_rsa", CrockfordBase32.encode(chosen.hash)),
                      ("public_key", CrockfordBase32.encode(chosen.publicKey)), ("signature", CrockfordBase32.encode(signature))]
        case .cs:
            let client = try connectCs(config: config, timeout: timeout)
            defer { client.disconnect() }
            let chosen = try choose(client.keys, hash: \.hash, section: \.section, anchor: \.anchor, duration: \.durationWithdraw, idName: "h_cs")
            let nonce: [UInt8]
            do throws(SecmodError) { nonce = try options.nonce.map { (n) throws(SecmodError) in try CrockfordBase32.decode(n, byteCount: 32) } ?? randomBytes(32) } catch {
                throw CLIError(error)
            }
            let challenges = SHA512.hash(input)
            let r: [UInt8], b: UInt32, s: [UInt8]
            do throws(SecmodError) {
                r = try client.derive(hash: chosen.hash, nonce: nonce, forMelt: options.melt)
                (b, s) = try client.sign(CsSignItem(hash: chosen.hash, nonce: nonce, challenges: challenges, publicNonces: r, forMelt: options.melt))
            } catch {
                throw CLIError(error)
            }
            fields = [("section", chosen.section), ("h_cs", CrockfordBase32.encode(chosen.hash)),
                      ("public_key", CrockfordBase32.encode(chosen.publicKey)), ("nonce", CrockfordBase32.encode(nonce)),
                      ("r", CrockfordBase32.encode(r)), ("b", String(b)), ("signature", CrockfordBase32.encode(s))]
        }
        if json {
            print(jsonObject(fields.map { ($0.0, $0.0 == "purpose" || $0.0 == "b" ? $0.1 : jsonString($0.1)) }))
        } else {
            for (name, value) in fields { print("\(name) \(value)") }
        }
    }

    private func chooseRsaKey(_ client: RsaHelperClient) throws -> RsaDenominationKey {
        try choose(client.keys, hash: \.hash, section: \.section, anchor: \.anchor, duration: \.durationWithdraw, idName: "h_rsa")
    }

    /// The denomination key `--key` names, or the oldest currently valid one (of `--section`).
    private func choose<Key>(_ keys: [Key], hash: KeyPath<Key, [UInt8]>, section keySection: KeyPath<Key, String>,
                             anchor: KeyPath<Key, Timestamp>, duration: KeyPath<Key, RelativeTime>, idName: String) throws -> Key {
        if let key {
            let wanted: [UInt8]
            do throws(SecmodError) { wanted = try CrockfordBase32.decode(key, byteCount: 64) } catch { throw CLIError(error) }
            guard let found = keys.first(where: { $0[keyPath: hash] == wanted }) else {
                throw CLIError("the helper does not announce a key with \(idName) \(key)")
            }
            return found
        }
        let now = Timestamp(microseconds: Clock.wallMicroseconds())
        let valid = keys.filter { $0[keyPath: anchor] <= now && now < $0[keyPath: anchor].adding($0[keyPath: duration]) }
        guard let found = valid.filter({ section == nil || $0[keyPath: keySection] == section }).min(by: { $0[keyPath: anchor] < $1[keyPath: anchor] }) else {
            throw CLIError("no currently valid key\(section.map { " in section [\($0)]" } ?? "")")
        }
        return found
    }
}

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Verify a signature over standard input, as `secmod sign` made it. Exits 1 if it does not verify.",
        discussion: "eddsa: Ed25519 over the purpose header and the input. rsa: s^e mod n equals the input read as an integer. cs: s·B = R_b + c_b·X for the challenges c0 || c1 = SHA-512(input), with --r and --b as `secmod sign --helper cs` printed them.")

    @Option(name: .long, help: "Which helper made the signature: eddsa, rsa or cs.")
    var helper: HelperKind = .eddsa

    @Option(name: .long, help: "The signing key, base32 (rsa: the encoded public key that `secmod sign` prints).")
    var publicKey: String

    @Option(name: .long, help: "The signature, base32.")
    var signature: String

    @Option(name: .long, help: "eddsa: the signature purpose number.")
    var purpose: UInt32?

    @Option(name: .long, help: "cs: R0 || R1, base32, as `secmod sign --helper cs` printed them.")
    var r: String?

    @Option(name: .long, help: "cs: which challenge the helper answered, 0 or 1.")
    var b: UInt32?

    func run() throws {
        let input = [UInt8](FileHandle.standardInput.readDataToEndOfFile())
        let valid: Bool
        do throws(SecmodError) {
            switch helper {
            case .eddsa:
                guard let purpose else { throw SecmodError(.usage, "--purpose is required for eddsa signatures") }
                let pub = try CrockfordBase32.decode(publicKey, byteCount: 32)
                let sig = try CrockfordBase32.decode(signature, byteCount: 64)
                valid = Ed25519.verify(signature: sig, message: EddsaSignRequest.purposeBytes(purpose: purpose, body: input), publicKey: pub)
            case .rsa:
                let pub = try RsaPublicKey(encoded: try CrockfordBase32.decode(publicKey))
                valid = pub.verifyRaw(signature: try CrockfordBase32.decode(signature), message: input)
            case .cs:
                guard let r, let b, b <= 1 else { throw SecmodError(.usage, "--r and --b (0 or 1) are required for cs signatures") }
                let pub = try CrockfordBase32.decode(publicKey, byteCount: 32)
                let rs = try CrockfordBase32.decode(r, byteCount: 64)
                let i = Int(b) * 32
                valid = ClauseSchnorrKey.verifyBlind(s: try CrockfordBase32.decode(signature, byteCount: 32),
                                                     challenge: Array(SHA512.hash(input)[i..<i + 32]), r: Array(rs[i..<i + 32]), publicKey: pub)
            }
        } catch {
            throw CLIError(error)
        }
        guard valid else { throw CLIError("signature does NOT verify") }
        print("signature verifies")
    }
}

struct Revoke: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Revoke a key: the helper purges it and announces a successor with the same anchor.")

    @OptionGroup var options: HelperOptions

    @Option(name: .long, help: "The key to revoke, base32: its public key (eddsa), h_rsa (rsa) or h_cs (cs).")
    var key: String

    func run() throws {
        switch options.helper {
        case .eddsa:
            let client = try connectEddsa(options)
            defer { client.disconnect() }
            try revoke(byteCount: 32, announced: { client.keys.map(\.publicKey) },
                       send: { (id) throws(SecmodError) in try client.revoke(publicKey: id) },
                       wait: { (s) throws(SecmodError) in try client.waitForEvents(for: .seconds(s)) })
        case .rsa:
            let client = try connectRsa(options)
            defer { client.disconnect() }
            try revoke(byteCount: 64, announced: { client.keys.map(\.hash) },
                       send: { (id) throws(SecmodError) in try client.revoke(hash: id) },
                       wait: { (s) throws(SecmodError) in try client.waitForEvents(for: .seconds(s)) })
        case .cs:
            let client = try connectCs(options)
            defer { client.disconnect() }
            try revoke(byteCount: 64, announced: { client.keys.map(\.hash) },
                       send: { (id) throws(SecmodError) in try client.revoke(hash: id) },
                       wait: { (s) throws(SecmodError) in try client.waitForEvents(for: .seconds(s)) })
        }
        print("revoked \(key)")
    }

    /// Sends REVOKE, then waits for the PURGE that confirms it.
    private func revoke(byteCount: Int, announced: () -> [[UInt8]], send: ([UInt8]) throws(SecmodError) -> Void,
                        wait: (Double) throws(SecmodError) -> Void) throws {
        do throws(SecmodError) {
            let id = try CrockfordBase32.decode(key, byteCount: byteCount)
            guard announced().contains(id) else { throw SecmodError(.usage, "the helper does not announce key \(key)") }
            try send(id)
            let deadline = helperTimeout(options.timeout).map { Deadline.after($0) }
            while announced().contains(id) && !(deadline?.hasPassed ?? false) { try wait(0.2) }
            guard !announced().contains(id) else { throw SecmodError(.timeout, "no PURGE arrived for \(key)") }
        } catch {
            throw CLIError(error)
        }
    }
}
