import SecmodBase
import SecmodSystem

/// An RSA public key as Taler exchanges and hashes it.
///
/// Both integers are kept minimal so that equal keys have equal encodings, and so equal
/// `h_rsa` hashes: the exchange identifies denominations by that hash.
public struct RsaPublicKey: Sendable, Equatable {
    /// n, unsigned big-endian without leading zeros.
    public let modulus: [UInt8]
    /// e, unsigned big-endian without leading zeros.
    public let exponent: [UInt8]

    /// Leading zeros are dropped, so a padded modulus names the same key.
    public init(modulus: [UInt8], exponent: [UInt8]) {
        self.modulus = Array(RsaBigEndian.minimal(modulus))
        self.exponent = Array(RsaBigEndian.minimal(exponent))
    }

    /// The wire.md §3.4 encoding of `GNUNET_CRYPTO_rsa_public_key_encode`: two uint16 BE lengths, n, e.
    public func encoded() -> [UInt8] {
        precondition(modulus.count <= 0xFFFF && exponent.count <= 0xFFFF, "RSA key too large for the GNUnet encoding")
        var out: [UInt8] = []
        out.reserveCapacity(4 + modulus.count + exponent.count)
        out.append(UInt8(modulus.count >> 8))
        out.append(UInt8(modulus.count & 0xFF))
        out.append(UInt8(exponent.count >> 8))
        out.append(UInt8(exponent.count & 0xFF))
        out += modulus
        out += exponent
        return out
    }

    /// Decodes wire.md §3.4. Only the minimal form is accepted: any other spelling of the same key
    /// would hash differently, and the hash is the key's identity.
    public init(encoded bytes: [UInt8]) throws(SecmodError) {
        guard bytes.count >= 4 else {
            throw SecmodError(.malformed, "RSA public key: \(bytes.count) bytes is shorter than its 4-byte header")
        }
        let modulusLength = Int(bytes[0]) << 8 | Int(bytes[1])
        let exponentLength = Int(bytes[2]) << 8 | Int(bytes[3])
        guard bytes.count == 4 + modulusLength + exponentLength else {
            throw SecmodError(.malformed, "RSA public key: header announces \(4 + modulusLength + exponentLength) bytes, got \(bytes.count)")
        }
        let n = Array(bytes[4 ..< 4 + modulusLength])
        let e = Array(bytes[(4 + modulusLength)...])
        guard let nTop = n.first, let eTop = e.first, nTop != 0, eTop != 0 else {
            throw SecmodError(.malformed, "RSA public key: n and e must be non-empty and without leading zero bytes")
        }
        guard n.last! & 1 == 1, e.last! & 1 == 1, RsaBigEndian.compare(e[...], [2][...]) > 0,
              RsaBigEndian.compare(e[...], n[...]) < 0 else {
            throw SecmodError(.malformed, "RSA public key: n must be odd and e odd with 3 <= e < n")
        }
        self.init(modulus: n, exponent: e)
    }

    /// `h_rsa` (wire.md §3.5): SHA-512 of the encoding, as `GNUNET_CRYPTO_rsa_public_key_hash`.
    public var hash: [UInt8] { SHA512.hash(encoded()) }

    /// The size of the key: the bit length of n.
    public var bits: Int { RsaBigEndian.bitCount(modulus[...]) }

    /// s^e mod n == m, with m compared as an integer (leading zeros ignored). A signature
    /// not below n is refused: s and s + n would otherwise both pass for the same m.
    public func verifyRaw(signature: [UInt8], message: [UInt8]) -> Bool {
        let n = modulus[...]
        let s = RsaBigEndian.minimal(signature)
        let m = RsaBigEndian.minimal(message)
        guard !n.isEmpty, RsaBigEndian.compare(s, n) < 0, RsaBigEndian.compare(m, n) < 0 else { return false }
        let power = GmpInteger.powerModulo(base: s, exponent: exponent[...], modulus: n)
        return RsaBigEndian.compare(RsaBigEndian.minimal(power), m) == 0
    }
}
