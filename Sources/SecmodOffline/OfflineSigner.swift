import SecmodBase
import SecmodCrypto
import SecmodSystem
import SecmodWire

/// Every check the offline signer makes on a future-keys document before it signs
/// anything (offline-documents.md §4.5, §6): each module signature against the document's
/// module keys, each RSA key's encoding, and, with a configuration, each denomination's age
/// mask and any value or fee the configuration states. `download` runs the signature part,
/// `show` prints the result, `sign` refuses to sign unless `problems` is empty.
public struct KeyReview {
    public struct Denomination {
        public let key: FutureDenomination
        /// `h_rsa` or `h_cs`: SHA-512 of the key bytes.
        public let keyHash: [UInt8]
        /// `h_denom_pub` with the age mask that will be signed (offline-documents.md §7.4).
        public let denominationHash: [UInt8]
        public let ageMask: UInt32
        public let moduleSignatureValid: Bool
        /// What is wrong with this key, if anything.
        public let problems: [String]
        /// How messages name this key.
        public let name: String
    }

    public struct SigningKey {
        public let key: FutureSigningKey
        public let moduleSignatureValid: Bool
        public let name: String
    }

    /// What the configuration says about a denomination section; nil to check nothing.
    public struct Expectations {
        public let ageMask: UInt32
        public let value: Amount?
        public let fees: [String: Amount]

        public init(ageMask: UInt32, value: Amount?, fees: [String: Amount]) {
            self.ageMask = ageMask
            self.value = value
            self.fees = fees
        }
    }

    public let keys: FutureKeys
    public let denominations: [Denomination]
    public let signingKeys: [SigningKey]

    /// `expectations(section)` gives what the configuration expects of a section; without
    /// it the document's own `age_mask` is used and nothing else is compared.
    public init(_ keys: FutureKeys, expectations: ((String) throws(SecmodError) -> Expectations)? = nil) throws(SecmodError) {
        self.keys = keys
        let moduleKeys = keys.securityModuleKeys
        signingKeys = keys.signingKeys.map { k in
            SigningKey(key: k, moduleSignatureValid: Ed25519.verify(signature: k.secmodSignature, message: k.secmodSignedBytes,
                                                                    publicKey: moduleKeys.eddsa),
                       name: "signing key \(CrockfordBase32.encode(k.key)) (start \(OfflineFormat.date(k.stampStart)))")
        }
        var denoms: [Denomination] = []
        for d in keys.denominations {
            var problems: [String] = []
            let name = "denomination key [\(d.sectionName)] starting \(OfflineFormat.date(d.stampStart))"
            if d.publicKey.cipher == .rsa {
                do throws(SecmodError) { _ = try RsaPublicKey(encoded: d.publicKey.keyBytes) } catch {
                    problems.append("\(name): denom_pub.rsa_public_key is not a valid RSA public key: \(error.message)")
                }
            }
            let keyHash = SHA512.hash(d.publicKey.keyBytes)
            let signed = d.secmodSignedBytes(keyHash: keyHash, sectionNameHash: SHA512.hash(d.sectionNameBytesWithNul))
            let moduleKey = d.publicKey.cipher == .rsa ? moduleKeys.rsa : moduleKeys.cs
            let valid = Ed25519.verify(signature: d.secmodSignature, message: signed, publicKey: moduleKey)
            var ageMask = d.publicKey.ageMask
            if let expectations {
                let expected = try expectations(d.sectionName)
                if expected.ageMask != d.publicKey.ageMask {
                    problems.append("\(name): the exchange announces age_mask \(OfflineFormat.hex(d.publicKey.ageMask)) but this configuration gives \(OfflineFormat.hex(expected.ageMask)) ([\(d.sectionName)] AGE_RESTRICTED, [\(OfflineSettings.ageRestrictionSection)]); the exchange would not recognise the signature")
                }
                ageMask = expected.ageMask
                if let value = expected.value, value != d.value {
                    problems.append("\(name): value \(d.value) differs from [\(d.sectionName)] VALUE = \(value) in this configuration")
                }
                for (field, amount) in d.fees.all {
                    if let want = expected.fees[field], want != amount {
                        problems.append("\(name): \(field) \(amount) differs from [\(d.sectionName)] \(field.asciiUppercased) = \(want) in this configuration")
                    }
                }
            }
            let denominationHash = SHA512.hash(MasterSignatures.denominationHashInput(ageMask: ageMask, publicKey: d.publicKey))
            if !valid {
                problems.insert("invalid security module signature for \(name) (h_denom_pub \(CrockfordBase32.encode(denominationHash)))", at: 0)
            }
            denoms.append(Denomination(key: d, keyHash: keyHash, denominationHash: denominationHash, ageMask: ageMask,
                                       moduleSignatureValid: valid, problems: problems, name: name))
        }
        denominations = denoms
    }

    /// Everything that stops `sign`, module signatures first.
    public var problems: [String] {
        signingKeys.filter { !$0.moduleSignatureValid }.map { "invalid security module signature for \($0.name)" }
            + denominations.flatMap(\.problems)
    }

    /// Throws one error listing every problem, or returns.
    public func requireNoProblems(_ what: String) throws(SecmodError) {
        let all = problems
        guard !all.isEmpty else { return }
        throw SecmodError(.crypto, "\(what): \(all.count) problem\(all.count == 1 ? "" : "s"):\n  " + all.joined(separator: "\n  "))
    }

    /// The master signatures (offline-documents.md §7), in input order. Call only when `problems` is empty.
    public func sign(with masterKey: Ed25519PrivateKey) -> UploadSignatures {
        let signkeys = signingKeys.map {
            UploadSignatures.SigningKey(exchangePublicKey: $0.key.key, masterSignature: masterKey.sign($0.key.masterSignedBytes))
        }
        let denoms = denominations.map {
            UploadSignatures.Denomination(
                denominationHash: $0.denominationHash,
                masterSignature: masterKey.sign($0.key.masterSignedBytes(masterPublicKey: masterKey.publicKey,
                                                                          denominationHash: $0.denominationHash)))
        }
        return UploadSignatures(denominations: denoms, signingKeys: signkeys)
    }
}

extension OfflineSettings {
    /// What this configuration expects of a denomination section: its age mask, and VALUE
    /// and FEE_* where they are set.
    public func expectations(currency: String) -> (String) throws(SecmodError) -> KeyReview.Expectations {
        { (section: String) throws(SecmodError) -> KeyReview.Expectations in
            var fees: [String: Amount] = [:]
            for (field, option) in [("fee_withdraw", "FEE_WITHDRAW"), ("fee_deposit", "FEE_DEPOSIT"),
                                    ("fee_refresh", "FEE_REFRESH"), ("fee_refund", "FEE_REFUND")] {
                fees[field] = try amount(section: section, option: option, currency: currency)
            }
            return KeyReview.Expectations(ageMask: try ageMask(section: section),
                                          value: try amount(section: section, option: "VALUE", currency: currency), fees: fees)
        }
    }
}

/// How the offline commands print times, masks and keys.
public enum OfflineFormat {
    /// `2023-11-14 22:13:20` (UTC), or `never`.
    public static func date(_ t: Timestamp) -> String {
        guard t != .forever else { return "never" }
        let seconds = t.seconds
        let days = Int64(seconds / 86_400)
        let rest = Int(seconds % 86_400)
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = z / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(year)-\(two(Int(month)))-\(two(Int(day))) \(two(rest / 3600)):\(two(rest / 60 % 60)):\(two(rest % 60))"
    }

    public static func hex(_ v: UInt32) -> String { v == 0 ? "0" : "0x" + String(v, radix: 16) }
}
