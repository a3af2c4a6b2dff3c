import SecmodBase
import SecmodSystem
import SecmodWire

/// The byte strings the offline master key signs (offline-documents.md §7), exactly as the
/// packed C structs lay them out. The signer hashes and signs them; the exchange rebuilds
/// them from its own configuration and checks the signature.
public enum MasterSignatures {
    /// `TALER_SIGNATURE_MASTER_SIGNING_KEY_VALIDITY`.
    public static let signingKeyValidityPurpose: UInt32 = 1024
    /// `TALER_SIGNATURE_MASTER_DENOMINATION_KEY_VALIDITY`.
    public static let denominationKeyValidityPurpose: UInt32 = 1025

    /// `TALER_ExchangeSigningKeyValidityPS` (offline-documents.md §7.1), 64 bytes.
    public static func signingKeyValidity(signingKey: [UInt8], start: Timestamp, expire: Timestamp,
                                          end: Timestamp) -> [UInt8] {
        precondition(signingKey.count == 32)
        var w = ByteWriter(capacity: 64)
        w.u32(64)
        w.u32(signingKeyValidityPurpose)
        w.u64(start.microseconds)
        w.u64(expire.microseconds)
        w.u64(end.microseconds)
        w.append(signingKey)
        return w.bytes
    }

    /// `TALER_DenominationKeyValidityPS` (offline-documents.md §7.2), 256 bytes. `denominationHash` is
    /// `h_denom_pub` (offline-documents.md §7.4): the SHA-512 of `denominationHashInput`.
    public static func denominationKeyValidity(masterPublicKey: [UInt8], start: Timestamp, expireWithdraw: Timestamp,
                                               expireDeposit: Timestamp, expireLegal: Timestamp, value: Amount,
                                               fees: DenominationFees, denominationHash: [UInt8]) -> [UInt8] {
        precondition(masterPublicKey.count == 32 && denominationHash.count == 64)
        var w = ByteWriter(capacity: 256)
        w.u32(256)
        w.u32(denominationKeyValidityPurpose)
        w.append(masterPublicKey)
        w.u64(start.microseconds)
        w.u64(expireWithdraw.microseconds)
        w.u64(expireDeposit.microseconds)
        w.u64(expireLegal.microseconds)
        w.append(value.networkBytes)
        w.append(fees.withdraw.networkBytes)
        w.append(fees.deposit.networkBytes)
        w.append(fees.refresh.networkBytes)
        w.append(fees.refund.networkBytes)
        w.append(denominationHash)
        return w.bytes
    }

    /// What `TALER_denom_pub_hash` hashes (offline-documents.md §7.4): u32 BE age mask, u32 BE cipher, then the
    /// RSA encoding or the 32-byte CS key.
    public static func denominationHashInput(ageMask: UInt32, publicKey: DenominationPublicKey) -> [UInt8] {
        var w = ByteWriter(capacity: 8 + publicKey.keyBytes.count)
        w.u32(ageMask)
        w.u32(publicKey.cipher.rawValue)
        w.append(publicKey.keyBytes)
        return w.bytes
    }
}

/// `enum GNUNET_CRYPTO_BlindSignatureAlgorithm` as Taler 0.9.2 numbers it.
public enum DenominationCipher: UInt32, Sendable {
    case rsa = 1
    case cs = 2

    /// The spelling of `denom_pub.cipher` in JSON.
    public var name: String {
        switch self {
        case .rsa: "RSA"
        case .cs: "CS"
        }
    }
}

/// A denomination public key as `denom_pub` carries it.
public struct DenominationPublicKey: Hashable, Sendable {
    public let cipher: DenominationCipher
    /// RSA: the offline-documents.md §2.1 encoding (`u16 len(n) ‖ u16 len(e) ‖ n ‖ e`); CS: the 32-byte key.
    public let keyBytes: [UInt8]
    /// The age mask the document states (`denom_pub.age_mask`).
    public let ageMask: UInt32

    public init(cipher: DenominationCipher, keyBytes: [UInt8], ageMask: UInt32) {
        self.cipher = cipher
        self.keyBytes = keyBytes
        self.ageMask = ageMask
    }
}

/// The four fees of a denomination, in `TALER_DenomFeeSetNBOP` order.
public struct DenominationFees: Hashable, Sendable {
    public let withdraw: Amount
    public let deposit: Amount
    public let refresh: Amount
    public let refund: Amount

    public init(withdraw: Amount, deposit: Amount, refresh: Amount, refund: Amount) {
        self.withdraw = withdraw
        self.deposit = deposit
        self.refresh = refresh
        self.refund = refund
    }

    public var all: [(name: String, amount: Amount)] {
        [("fee_withdraw", withdraw), ("fee_deposit", deposit), ("fee_refresh", refresh), ("fee_refund", refund)]
    }
}

/// The age mask of Taler's age-restriction extension (`struct TALER_AgeMask`).
public enum AgeMask {
    /// The shipped `[exchange-extension-age_restriction] AGE_GROUPS`.
    public static let defaultGroups = "8:10:12:14:16:18:21"

    /// `TALER_parse_age_group_string`: ages 1 to 31, strictly increasing, separated by
    /// ':'; bit `age` is set for each, and bit 0 always. "8:10:12:14:16:18:21" → 0x255501.
    public static func parse(groups: String) throws(SecmodError) -> UInt32 {
        let parts = groups.split(separator: ":", omittingEmptySubsequences: false)
        var mask: UInt32 = 1
        var previous = 0
        for part in parts {
            guard !part.isEmpty, part.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let age = Int(part), age > 0, age < 32 else {
                throw SecmodError(.configValue, "'\(groups)' is not a list of age groups: '\(part)' is not an age from 1 to 31; expected ages separated by ':' such as '\(defaultGroups)'")
            }
            guard age > previous else {
                throw SecmodError(.configValue, "'\(groups)' is not a list of age groups: the ages must increase")
            }
            mask |= 1 << UInt32(age)
            previous = age
        }
        return mask
    }
}

/// `TALER_SecurityModulePublicKeySetP` (offline-documents.md §5): the three security-module public keys the
/// offline signer pins, 96 bytes: RSA ‖ CS ‖ EdDSA. A helper that is absent has 32 zero bytes.
public struct SecurityModuleKeySet: Hashable, Sendable {
    public static let byteCount = 96
    public let rsa: [UInt8]
    public let cs: [UInt8]
    public let eddsa: [UInt8]

    public init(rsa: [UInt8], cs: [UInt8], eddsa: [UInt8]) {
        precondition(rsa.count == 32 && cs.count == 32 && eddsa.count == 32)
        self.rsa = rsa
        self.cs = cs
        self.eddsa = eddsa
    }

    public init(bytes: [UInt8]) throws(SecmodError) {
        guard bytes.count == Self.byteCount else {
            throw SecmodError(.malformed, "a security module key set has \(Self.byteCount) bytes, not \(bytes.count)")
        }
        self.init(rsa: Array(bytes[0..<32]), cs: Array(bytes[32..<64]), eddsa: Array(bytes[64..<96]))
    }

    public var bytes: [UInt8] { rsa + cs + eddsa }

    /// The members, named for messages, with their configuration pin option (offline-documents.md §5).
    public var members: [(name: String, pinOption: String, key: [UInt8])] {
        [("RSA denomination helper", "SECM_DENOM_PUBKEY", rsa),
         ("CS denomination helper", "SECM_DENOM_CS_PUBKEY", cs),
         ("EdDSA signing-key helper", "SECM_ESIGN_PUBKEY", eddsa)]
    }
}
