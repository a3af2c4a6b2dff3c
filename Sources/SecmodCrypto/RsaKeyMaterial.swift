import SecmodBase
import SecmodSystem

/// The integers of one RSA private key in libgcrypt's convention (p < q as generated,
/// u = p^-1 mod q), plus the CRT exponents, checked once and kept in a single locked buffer.
///
/// One buffer rather than one per integer: every libsodium allocation costs guard pages and
/// locked memory, and a helper holds hundreds of denomination keys. Each engine builds its
/// own representation from this; the key file is written from it too.
final class RsaKeyMaterial: Sendable {
    enum Part: Int, CaseIterable {
        case n, e, d, p, q, u
        /// d mod (p-1) and d mod (q-1).
        case dp, dq
    }

    /// The sizes Taler configures (and `generate` accepts); anything else in a file is a mistake.
    static let supportedBits = 1024 ... 8192

    private let storage: SecureBytes
    private let ranges: [Range<Int>]

    /// Checks that the integers form one consistent key, so that a corrupt file fails at
    /// load time with a reason instead of producing bad signatures later. Throws `.keyFile`;
    /// the messages name the failed relation, never a value.
    init(n: borrowing GcryptInteger, e: borrowing GcryptInteger, d: borrowing GcryptInteger,
         p: borrowing GcryptInteger, q: borrowing GcryptInteger, u: borrowing GcryptInteger) throws(SecmodError) {
        func fail(_ why: String) -> SecmodError { SecmodError(.keyFile, "RSA private key: \(why)") }

        guard Self.supportedBits.contains(n.bitCount) else {
            throw fail("the modulus has \(n.bitCount) bits; \(Self.supportedBits.lowerBound) to \(Self.supportedBits.upperBound) are supported")
        }
        guard n.isOdd else { throw fail("the modulus n is even") }
        guard e.isOdd, e.compare(3) >= 0, e.compare(n) < 0 else { throw fail("the public exponent e must be odd with 3 <= e < n") }
        guard p.compare(1) > 0, q.compare(1) > 0, p.isOdd, q.isOdd, p.compare(q) != 0 else {
            throw fail("the primes p and q must be distinct odd numbers above 1")
        }
        guard GcryptInteger.product(p, q, secret: true).compare(n) == 0 else { throw fail("n is not the product p*q") }
        guard d.compare(0) > 0, d.compare(n) < 0 else { throw fail("the private exponent d must satisfy 0 < d < n") }
        let p1 = GcryptInteger.minus(p, 1, secret: true)
        let q1 = GcryptInteger.minus(q, 1, secret: true)
        let dp = GcryptInteger.remainder(d, p1, secret: true)
        let dq = GcryptInteger.remainder(d, q1, secret: true)
        guard GcryptInteger.productModulo(e, dp, p1, secret: true).compare(1) == 0,
              GcryptInteger.productModulo(e, dq, q1, secret: true).compare(1) == 0 else {
            throw fail("e*d is not 1 modulo p-1 and q-1: d does not invert e")
        }
        guard u.compare(0) > 0, u.compare(q) < 0,
              GcryptInteger.productModulo(u, p, q, secret: true).compare(1) == 0 else {
            throw fail("the CRT coefficient u is not p^-1 mod q")
        }

        let integers: [Part: Int] = [.n: n.byteCount, .e: e.byteCount, .d: d.byteCount, .p: p.byteCount,
                                     .q: q.byteCount, .u: u.byteCount, .dp: dp.byteCount, .dq: dq.byteCount]
        var ranges: [Range<Int>] = []
        var offset = 0
        for part in Part.allCases {
            ranges.append(offset ..< offset + integers[part]!)
            offset += integers[part]!
        }
        var storage = SecureBytes(count: offset)
        storage.withUnsafeMutableBytes { buffer in
            func put(_ part: Part, _ value: borrowing GcryptInteger) {
                value.write(into: UnsafeMutableRawBufferPointer(rebasing: buffer[ranges[part.rawValue]]))
            }
            put(.n, n); put(.e, e); put(.d, d); put(.p, p); put(.q, q); put(.u, u); put(.dp, dp); put(.dq, dq)
        }
        self.storage = storage
        self.ranges = ranges
    }

    /// Lends one integer, minimal unsigned big-endian, without copying it out of locked memory.
    func withBytes<R, E: Error>(_ part: Part, _ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try storage.withUnsafeBytes { (all: UnsafeRawBufferPointer) throws(E) -> R in
            try body(UnsafeRawBufferPointer(rebasing: all[ranges[part.rawValue]]))
        }
    }

    /// One integer as a libgcrypt integer in secure memory.
    func secretInteger(_ part: Part) throws(SecmodError) -> GcryptInteger {
        var result: GcryptInteger? = nil
        try withBytes(part) { (bytes) throws(SecmodError) in result = try GcryptInteger.secret(bigEndian: bytes) }
        return result.take()!
    }

    var publicKey: RsaPublicKey {
        RsaPublicKey(modulus: withBytes(.n) { Array($0) }, exponent: withBytes(.e) { Array($0) })
    }
}
