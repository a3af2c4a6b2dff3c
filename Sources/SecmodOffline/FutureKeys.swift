import SecmodBase
import SecmodSystem
import SecmodWire

/// The documents of the offline signing flow (offline-documents.md §2, §4, §8): the
/// exchange's future keys that `download` fetches and `sign` signs, and the signatures
/// `sign` writes and `upload` sends.
public enum OfflineOperation {
    /// The document `download` writes: `{"operation": this, "arguments": <GET /management/keys>}`.
    public static let inputKeys = "exchange-input-keys-0"
    /// The operation `sign` appends: `{"operation": this, "arguments": {denom_sigs, signkey_sigs}}`.
    public static let uploadSignatures = "exchange-upload-sigs-0"

    /// Wraps a `GET /management/keys` reply unchanged, as taler-exchange-offline's `download` does.
    public static func wrapInputKeys(_ arguments: JSONValue) -> JSONValue {
        .object([JSONMember("operation", .string(inputKeys)), JSONMember("arguments", arguments)])
    }

    /// The `arguments` of an `exchange-input-keys-0` document; anything else is refused
    /// with a message that says what the input is instead.
    public static func unwrapInputKeys(_ document: JSONValue) throws(SecmodError) -> JSONValue {
        guard case .object = document else {
            if case .array = document {
                throw SecmodError(.malformed, "the input is a JSON array, not the future-keys document: expected {\"operation\": \"\(inputKeys)\", \"arguments\": {...}} as `secmod download` writes it (an array is what `secmod sign` writes and `upload` reads)")
            }
            throw SecmodError(.malformed, "the input is \(document.kindName), not the future-keys document {\"operation\": \"\(inputKeys)\", \"arguments\": {...}} that `secmod download` writes")
        }
        guard let operation = document["operation"] else {
            throw SecmodError(.malformed, "the input has no \"operation\"; expected \"\(inputKeys)\" (the document `secmod download` writes)")
        }
        guard case .string(let name) = operation else {
            throw SecmodError(.malformed, "\"operation\" is \(operation.kindName); expected the string \"\(inputKeys)\"")
        }
        guard name == inputKeys else {
            throw SecmodError(.malformed, "unknown operation \"\(name)\": this command reads \"\(inputKeys)\" (the document `secmod download` writes)")
        }
        guard let arguments = document["arguments"] else {
            throw SecmodError(.malformed, "the \"\(inputKeys)\" document has no \"arguments\"")
        }
        return arguments
    }
}

/// A future online signing key (offline-documents.md §2.4).
public struct FutureSigningKey: Equatable, Sendable {
    public let key: [UInt8]
    public let stampStart: Timestamp
    public let stampExpire: Timestamp
    public let stampEnd: Timestamp
    public let secmodSignature: [UInt8]

    public init(key: [UInt8], stampStart: Timestamp, stampExpire: Timestamp, stampEnd: Timestamp, secmodSignature: [UInt8]) {
        self.key = key
        self.stampStart = stampStart
        self.stampExpire = stampExpire
        self.stampEnd = stampEnd
        self.secmodSignature = secmodSignature
    }

    /// What the EdDSA helper's module key signed (purpose 1251), rebuilt as offline-documents.md §6 says:
    /// the duration is `stamp_expire − stamp_start`.
    public var secmodSignedBytes: [UInt8] {
        SignaturePurpose.signingKeyAnnouncement(exchangePublicKey: key, anchor: stampStart,
                                                duration: Timestamp.difference(from: stampStart, to: stampExpire))
    }

    /// What the master key signs (purpose 1024, offline-documents.md §7.1).
    public var masterSignedBytes: [UInt8] {
        MasterSignatures.signingKeyValidity(signingKey: key, start: stampStart, expire: stampExpire, end: stampEnd)
    }

    public var json: JSONValue {
        .object([
            JSONMember("key", .string(CrockfordBase32.encode(key))),
            JSONMember("stamp_start", stampStart.json),
            JSONMember("stamp_expire", stampExpire.json),
            JSONMember("stamp_end", stampEnd.json),
            JSONMember("signkey_secmod_sig", .string(CrockfordBase32.encode(secmodSignature))),
        ])
    }
}

/// A future denomination key (offline-documents.md §2.3).
public struct FutureDenomination: Equatable, Sendable {
    public let sectionName: String
    public let value: Amount
    public let stampStart: Timestamp
    public let stampExpireWithdraw: Timestamp
    public let stampExpireDeposit: Timestamp
    public let stampExpireLegal: Timestamp
    public let publicKey: DenominationPublicKey
    public let fees: DenominationFees
    public let secmodSignature: [UInt8]

    public init(sectionName: String, value: Amount, stampStart: Timestamp, stampExpireWithdraw: Timestamp,
                stampExpireDeposit: Timestamp, stampExpireLegal: Timestamp, publicKey: DenominationPublicKey,
                fees: DenominationFees, secmodSignature: [UInt8]) {
        self.sectionName = sectionName
        self.value = value
        self.stampStart = stampStart
        self.stampExpireWithdraw = stampExpireWithdraw
        self.stampExpireDeposit = stampExpireDeposit
        self.stampExpireLegal = stampExpireLegal
        self.publicKey = publicKey
        self.fees = fees
        self.secmodSignature = secmodSignature
    }

    /// The section name with its terminating NUL: what the helper hashed.
    public var sectionNameBytesWithNul: [UInt8] { Array(sectionName.utf8) + [0] }

    /// The signature purpose of the helper's announcement: 1250 (RSA) or 1252 (CS).
    public var secmodPurpose: UInt32 {
        publicKey.cipher == .rsa ? SignaturePurpose.smRsaDenominationKey : SignaturePurpose.smCsDenominationKey
    }

    /// What the denomination helper's module key signed (offline-documents.md §6): `keyHash` is `h_rsa`/`h_cs`
    /// (SHA-512 of the key bytes) and `sectionNameHash` the SHA-512 of
    /// `sectionNameBytesWithNul`; the duration is `stamp_expire_withdraw − stamp_start`.
    public func secmodSignedBytes(keyHash: [UInt8], sectionNameHash: [UInt8]) -> [UInt8] {
        SignaturePurpose.denominationKeyAnnouncement(purpose: secmodPurpose, denominationHash: keyHash,
                                                     sectionNameHash: sectionNameHash, anchor: stampStart,
                                                     duration: Timestamp.difference(from: stampStart, to: stampExpireWithdraw))
    }

    /// What the master key signs (purpose 1025, offline-documents.md §7.2), given `h_denom_pub`.
    public func masterSignedBytes(masterPublicKey: [UInt8], denominationHash: [UInt8]) -> [UInt8] {
        MasterSignatures.denominationKeyValidity(masterPublicKey: masterPublicKey, start: stampStart,
                                                 expireWithdraw: stampExpireWithdraw, expireDeposit: stampExpireDeposit,
                                                 expireLegal: stampExpireLegal, value: value, fees: fees,
                                                 denominationHash: denominationHash)
    }

    public var json: JSONValue {
        let keyName = publicKey.cipher == .rsa ? "rsa_public_key" : "cs_public_key"
        return .object([
            JSONMember("value", .string(value.description)),
            JSONMember("stamp_start", stampStart.json),
            JSONMember("stamp_expire_withdraw", stampExpireWithdraw.json),
            JSONMember("stamp_expire_deposit", stampExpireDeposit.json),
            JSONMember("stamp_expire_legal", stampExpireLegal.json),
            JSONMember("denom_pub", .object([
                JSONMember("cipher", .string(publicKey.cipher.name)),
                JSONMember("age_mask", .integer(publicKey.ageMask)),
                JSONMember(keyName, .string(CrockfordBase32.encode(publicKey.keyBytes))),
            ])),
            JSONMember("fee_withdraw", .string(fees.withdraw.description)),
            JSONMember("fee_deposit", .string(fees.deposit.description)),
            JSONMember("fee_refresh", .string(fees.refresh.description)),
            JSONMember("fee_refund", .string(fees.refund.description)),
            JSONMember("denom_secmod_sig", .string(CrockfordBase32.encode(secmodSignature))),
            JSONMember("section_name", .string(sectionName)),
        ])
    }
}

/// The `arguments` of `exchange-input-keys-0`: the reply of `GET /management/keys` (offline-documents.md §2.2).
public struct FutureKeys: Equatable, Sendable {
    public let denominations: [FutureDenomination]
    public let signingKeys: [FutureSigningKey]
    public let masterPublicKey: [UInt8]
    public let securityModuleKeys: SecurityModuleKeySet

    public init(denominations: [FutureDenomination], signingKeys: [FutureSigningKey], masterPublicKey: [UInt8],
                securityModuleKeys: SecurityModuleKeySet) {
        self.denominations = denominations
        self.signingKeys = signingKeys
        self.masterPublicKey = masterPublicKey
        self.securityModuleKeys = securityModuleKeys
    }

    /// Parses and checks every field, as taler-exchange-offline's `sign` does (offline-documents.md §4.5 steps 1
    /// and 5), but all of it before anything is signed. If `currency` is given, every amount
    /// must be in it. Extra members are ignored. Errors name the field, e.g.
    /// `future_denoms[2].fee_deposit: …`.
    public init(arguments: JSONValue, currency: String?) throws(SecmodError) {
        let top = try JSONField.object(arguments, "arguments")
        let denoms = try JSONField.array(top.required("future_denoms"), "future_denoms")
        let signkeys = try JSONField.array(top.required("future_signkeys"), "future_signkeys")
        masterPublicKey = try top.base32("master_pub", 32)
        securityModuleKeys = SecurityModuleKeySet(rsa: try top.base32("denom_secmod_public_key", 32),
                                                  cs: try top.base32("denom_secmod_cs_public_key", 32),
                                                  eddsa: try top.base32("signkey_secmod_public_key", 32))
        var parsedSigningKeys: [FutureSigningKey] = []
        for (i, element) in signkeys.enumerated() {
            let o = try JSONField.object(element, "future_signkeys[\(i)]")
            parsedSigningKeys.append(FutureSigningKey(key: try o.base32("key", 32), stampStart: try o.timestamp("stamp_start"),
                                                      stampExpire: try o.timestamp("stamp_expire"),
                                                      stampEnd: try o.timestamp("stamp_end"),
                                                      secmodSignature: try o.base32("signkey_secmod_sig", 64)))
        }
        var parsedDenominations: [FutureDenomination] = []
        for (i, element) in denoms.enumerated() {
            let o = try JSONField.object(element, "future_denoms[\(i)]")
            let section = try o.string("section_name")
            guard !section.isEmpty, !section.utf8.contains(0) else {
                throw SecmodError(.malformed, "\(o.path).section_name: must be a non-empty configuration section name")
            }
            parsedDenominations.append(FutureDenomination(
                sectionName: section, value: try o.amount("value", currency: currency),
                stampStart: try o.timestamp("stamp_start"), stampExpireWithdraw: try o.timestamp("stamp_expire_withdraw"),
                stampExpireDeposit: try o.timestamp("stamp_expire_deposit"), stampExpireLegal: try o.timestamp("stamp_expire_legal"),
                publicKey: try o.denominationPublicKey("denom_pub"),
                fees: DenominationFees(withdraw: try o.amount("fee_withdraw", currency: currency),
                                       deposit: try o.amount("fee_deposit", currency: currency),
                                       refresh: try o.amount("fee_refresh", currency: currency),
                                       refund: try o.amount("fee_refund", currency: currency)),
                secmodSignature: try o.base32("denom_secmod_sig", 64)))
        }
        denominations = parsedDenominations
        signingKeys = parsedSigningKeys
    }

    /// The reply as the exchange builds it, members in its order (offline-documents.md §2.2).
    public var json: JSONValue {
        .object([
            JSONMember("future_denoms", .array(denominations.map(\.json))),
            JSONMember("future_signkeys", .array(signingKeys.map(\.json))),
            JSONMember("master_pub", .string(CrockfordBase32.encode(masterPublicKey))),
            JSONMember("denom_secmod_public_key", .string(CrockfordBase32.encode(securityModuleKeys.rsa))),
            JSONMember("denom_secmod_cs_public_key", .string(CrockfordBase32.encode(securityModuleKeys.cs))),
            JSONMember("signkey_secmod_public_key", .string(CrockfordBase32.encode(securityModuleKeys.eddsa))),
        ])
    }
}

/// The master signatures of one `exchange-upload-sigs-0` operation (offline-documents.md §4.5 step 6, §8).
public struct UploadSignatures: Equatable, Sendable {
    public struct Denomination: Equatable, Sendable {
        public let denominationHash: [UInt8]
        public let masterSignature: [UInt8]
        public init(denominationHash: [UInt8], masterSignature: [UInt8]) {
            self.denominationHash = denominationHash
            self.masterSignature = masterSignature
        }
    }

    public struct SigningKey: Equatable, Sendable {
        public let exchangePublicKey: [UInt8]
        public let masterSignature: [UInt8]
        public init(exchangePublicKey: [UInt8], masterSignature: [UInt8]) {
            self.exchangePublicKey = exchangePublicKey
            self.masterSignature = masterSignature
        }
    }

    public let denominations: [Denomination]
    public let signingKeys: [SigningKey]

    public init(denominations: [Denomination], signingKeys: [SigningKey]) {
        self.denominations = denominations
        self.signingKeys = signingKeys
    }

    /// The `arguments`, which is also the body of `POST /management/keys`.
    public var arguments: JSONValue {
        .object([
            JSONMember("denom_sigs", .array(denominations.map {
                .object([JSONMember("h_denom_pub", .string(CrockfordBase32.encode($0.denominationHash))),
                         JSONMember("master_sig", .string(CrockfordBase32.encode($0.masterSignature)))])
            })),
            JSONMember("signkey_sigs", .array(signingKeys.map {
                .object([JSONMember("exchange_pub", .string(CrockfordBase32.encode($0.exchangePublicKey))),
                         JSONMember("master_sig", .string(CrockfordBase32.encode($0.masterSignature)))])
            })),
        ])
    }

    /// The output of `sign`: an array holding this one operation.
    public var document: JSONValue {
        .array([.object([JSONMember("operation", .string(OfflineOperation.uploadSignatures)), JSONMember("arguments", arguments)])])
    }

    /// Parses the `arguments` of one operation (or a POST body).
    public init(arguments: JSONValue, path: String = "arguments") throws(SecmodError) {
        let top = try JSONField.object(arguments, path)
        var denoms: [Denomination] = []
        for (i, e) in try JSONField.array(top.required("denom_sigs"), "\(path).denom_sigs").enumerated() {
            let o = try JSONField.object(e, "\(path).denom_sigs[\(i)]")
            denoms.append(Denomination(denominationHash: try o.base32("h_denom_pub", 64), masterSignature: try o.base32("master_sig", 64)))
        }
        var signkeys: [SigningKey] = []
        for (i, e) in try JSONField.array(top.required("signkey_sigs"), "\(path).signkey_sigs").enumerated() {
            let o = try JSONField.object(e, "\(path).signkey_sigs[\(i)]")
            signkeys.append(SigningKey(exchangePublicKey: try o.base32("exchange_pub", 32), masterSignature: try o.base32("master_sig", 64)))
        }
        denominations = denoms
        signingKeys = signkeys
    }

    /// Every operation of an upload document (what `sign` writes: a JSON array of
    /// `{"operation", "arguments"}`). Operation names match case-insensitively, as in
    /// taler-exchange-offline; any operation other than `exchange-upload-sigs-0` is refused.
    public static func operations(in document: JSONValue) throws(SecmodError) -> [UploadSignatures] {
        guard case .array(let elements) = document else {
            if case .object = document, document["operation"] == .string(OfflineOperation.inputKeys) {
                throw SecmodError(.malformed, "the input is the future-keys document \"\(OfflineOperation.inputKeys)\", which must be signed first: `secmod sign` turns it into the signatures `upload` sends")
            }
            throw SecmodError(.malformed, "the input is \(document.kindName); expected the JSON array of operations that `secmod sign` writes")
        }
        guard !elements.isEmpty else { throw SecmodError(.malformed, "the input is an empty array: there is nothing to upload") }
        var result: [UploadSignatures] = []
        for (i, element) in elements.enumerated() {
            let o = try JSONField.object(element, "[\(i)]")
            let name = try o.string("operation")
            guard name.asciiLowercased == OfflineOperation.uploadSignatures else {
                throw SecmodError(.malformed, "[\(i)].operation: unknown or unsupported operation \"\(name)\"; `upload` sends \"\(OfflineOperation.uploadSignatures)\" (what `secmod sign` writes)")
            }
            result.append(try UploadSignatures(arguments: try o.required("arguments"), path: "[\(i)].arguments"))
        }
        return result
    }
}

extension Timestamp {
    /// `GNUNET_TIME_absolute_get_difference`: FOREVER if `end` is never, 0 if `end` is
    /// before `start`, else `end − start`.
    public static func difference(from start: Timestamp, to end: Timestamp) -> RelativeTime {
        if end == .forever { return .forever }
        if end < start { return .zero }
        return RelativeTime(microseconds: end.microseconds - start.microseconds)
    }

    /// `{"t_s": seconds}` or `{"t_s": "never"}`; sub-second parts are dropped, as
    /// `GNUNET_TIME_absolute_to_timestamp` does.
    public var json: JSONValue {
        .object([JSONMember("t_s", self == .forever ? .string("never") : .integer(seconds))])
    }

    /// Parses the JSON form. Only whole non-negative seconds below the end of time.
    public init(json: JSONValue, path: String) throws(SecmodError) {
        let expected = "expected {\"t_s\": <seconds since 1970>} or {\"t_s\": \"never\"}"
        guard case .object(let members) = json else {
            throw SecmodError(.malformed, "\(path): not a timestamp (\(json.kindName)); \(expected)")
        }
        guard let ts = json["t_s"] else { throw SecmodError(.malformed, "\(path): the timestamp has no \"t_s\"; \(expected)") }
        if let extra = members.first(where: { $0.name != "t_s" }) {
            throw SecmodError(.malformed, "\(path): unexpected member \"\(extra.name)\" in a timestamp; \(expected)")
        }
        switch ts {
        case .string("never"):
            self = .forever
        case .number(let text):
            guard let seconds = UInt64(text) else {
                throw SecmodError(.malformed, "\(path).t_s: \(text) is not a whole non-negative number of seconds; \(expected)")
            }
            let (us, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000)
            guard !overflow, us != UInt64.max else {
                throw SecmodError(.malformed, "\(path).t_s: \(text) seconds is beyond the end of time; use \"never\"")
            }
            self.init(microseconds: us)
        case .string(let text):
            throw SecmodError(.malformed, "\(path).t_s: \"\(text)\" is not a timestamp; \(expected)")
        default:
            throw SecmodError(.malformed, "\(path).t_s: \(ts.kindName) is not a timestamp; \(expected)")
        }
    }
}

/// Typed access to the members of a JSON object, with the path for messages.
public struct JSONField: Sendable {
    public let value: JSONValue
    public let path: String

    public static func object(_ value: JSONValue, _ path: String) throws(SecmodError) -> JSONField {
        guard case .object = value else { throw SecmodError(.malformed, "\(path): expected an object, found \(value.kindName)") }
        return JSONField(value: value, path: path)
    }

    public static func array(_ value: JSONValue, _ path: String) throws(SecmodError) -> [JSONValue] {
        guard case .array(let elements) = value else { throw SecmodError(.malformed, "\(path): expected an array, found \(value.kindName)") }
        return elements
    }

    public func required(_ name: String) throws(SecmodError) -> JSONValue {
        guard let v = value[name] else { throw SecmodError(.malformed, "\(path): the member \"\(name)\" is missing") }
        return v
    }

    public func string(_ name: String) throws(SecmodError) -> String {
        let v = try required(name)
        guard case .string(let s) = v else { throw SecmodError(.malformed, "\(path).\(name): expected a string, found \(v.kindName)") }
        return s
    }

    public func base32(_ name: String, _ byteCount: Int) throws(SecmodError) -> [UInt8] {
        let text = try string(name)
        do throws(SecmodError) { return try CrockfordBase32.decode(text, byteCount: byteCount) } catch {
            throw SecmodError(.malformed, "\(path).\(name): \(error.message)")
        }
    }

    public func timestamp(_ name: String) throws(SecmodError) -> Timestamp {
        try Timestamp(json: try required(name), path: "\(path).\(name)")
    }

    public func amount(_ name: String, currency: String?) throws(SecmodError) -> Amount {
        let text = try string(name)
        let amount: Amount
        do throws(SecmodError) { amount = try Amount(parsing: text) } catch { throw SecmodError(.malformed, "\(path).\(name): \(error.message)") }
        if let currency, !amount.isIn(currency: currency) {
            throw SecmodError(.malformed, "\(path).\(name): '\(text)' is not in the configured currency \(currency) ([taler] CURRENCY)")
        }
        return amount
    }

    /// `denom_pub` (offline-documents.md §2.3): cipher "RSA" with `rsa_public_key` or "CS" with `cs_public_key`,
    /// optional `age_mask` (u32, default 0).
    public func denominationPublicKey(_ name: String) throws(SecmodError) -> DenominationPublicKey {
        let o = try JSONField.object(try required(name), "\(path).\(name)")
        let cipherName = try o.string("cipher")
        var ageMask: UInt32 = 0
        if let mask = o.value["age_mask"] {
            guard case .number(let text) = mask, let m = UInt32(text) else {
                throw SecmodError(.malformed, "\(o.path).age_mask: expected an integer from 0 to \(UInt32.max)")
            }
            ageMask = m
        }
        // ASCII case only, as taler-exchange-offline's strcasecmp: uppercased() makes "rſa" "RSA".
        switch cipherName.asciiUppercased {
        case "RSA":
            let text = try o.string("rsa_public_key")
            let bytes: [UInt8]
            do throws(SecmodError) { bytes = try CrockfordBase32.decode(text) } catch {
                throw SecmodError(.malformed, "\(o.path).rsa_public_key: \(error.message)")
            }
            guard bytes.count >= 4, bytes.count == 4 + (Int(bytes[0]) << 8 | Int(bytes[1])) + (Int(bytes[2]) << 8 | Int(bytes[3])) else {
                throw SecmodError(.malformed, "\(o.path).rsa_public_key: not an encoded RSA public key (u16 len(n), u16 len(e), n, e)")
            }
            return DenominationPublicKey(cipher: .rsa, keyBytes: bytes, ageMask: ageMask)
        case "CS":
            return DenominationPublicKey(cipher: .cs, keyBytes: try o.base32("cs_public_key", 32), ageMask: ageMask)
        default:
            throw SecmodError(.malformed, "\(o.path).cipher: unknown cipher \"\(cipherName)\"; expected \"RSA\" or \"CS\"")
        }
    }
}
