internal import CGcrypt
import SecmodBase
import SecmodSystem

/// A libgcrypt integer owned by Swift and released exactly once.
///
/// Secret values are created in libgcrypt's secure (locked) memory, which libgcrypt also
/// uses for every result derived from them, and libgcrypt wipes limbs when it frees them.
/// This is why key checking and the gcrypt engine do their arithmetic here.
///
/// The handle stays private and every operation takes its operands `borrowing`, so no
/// integer can be released while libgcrypt is still reading it.
struct GcryptInteger: ~Copyable {
    private let raw: gcry_mpi_t

    private init(owning raw: gcry_mpi_t) { self.raw = raw }

    deinit { gcry_mpi_release(raw) }

    /// Takes ownership of an integer libgcrypt returned.
    static func adopt(_ raw: gcry_mpi_t?) throws(SecmodError) -> GcryptInteger {
        guard let raw else { throw SecmodError(.crypto, "libgcrypt returned no integer") }
        return GcryptInteger(owning: raw)
    }

    /// A zero in secure memory, to receive a secret result.
    static func secret() -> GcryptInteger {
        GcryptInteger(owning: gcry_mpi_snew(0))
    }

    /// A zero in ordinary memory, for public results.
    static func plain() -> GcryptInteger {
        GcryptInteger(owning: gcry_mpi_new(0))
    }

    /// Reads an unsigned big-endian value into secure memory. libgcrypt allocates the integer
    /// securely only when the source buffer is itself secure, hence the staging copy.
    static func secret(bigEndian bytes: UnsafeRawBufferPointer) throws(SecmodError) -> GcryptInteger {
        guard let staging = gcry_malloc_secure(max(bytes.count, 1)) else {
            throw SecmodError(.crypto, "libgcrypt secure memory is exhausted")
        }
        defer { gcry_free(staging) }  // secure memory is wiped on free
        if bytes.count > 0 { staging.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
        var result: gcry_mpi_t? = nil
        let rc = gcry_mpi_scan(&result, GCRYMPI_FMT_USG, staging, bytes.count, nil)
        guard rc == 0 else { throw SecmodError(.crypto, "libgcrypt could not read an integer") }
        return try adopt(result)
    }

    /// Reads an unsigned big-endian public value.
    static func plain(bigEndian bytes: ArraySlice<UInt8>) throws(SecmodError) -> GcryptInteger {
        var result: gcry_mpi_t? = nil
        let rc = bytes.withUnsafeBytes { b in
            gcry_mpi_scan(&result, GCRYMPI_FMT_USG, b.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, b.count, nil)
        }
        guard rc == 0 else { throw SecmodError(.crypto, "libgcrypt could not read an integer") }
        return try adopt(result)
    }

    /// An independent copy (secure if this one is).
    func copy() -> GcryptInteger { GcryptInteger(owning: gcry_mpi_copy(raw)) }

    var bitCount: Int { Int(gcry_mpi_get_nbits(raw)) }

    /// The minimal unsigned big-endian length.
    var byteCount: Int { (bitCount + 7) / 8 }

    var isOdd: Bool { gcry_mpi_test_bit(raw, 0) != 0 }

    func compare(_ other: borrowing GcryptInteger) -> Int { Int(gcry_mpi_cmp(raw, other.raw)) }

    func compare(_ value: UInt) -> Int { Int(gcry_mpi_cmp_ui(raw, value)) }

    /// Writes the minimal unsigned big-endian form into `buffer`, which must hold `byteCount` bytes.
    func write(into buffer: UnsafeMutableRawBufferPointer) {
        precondition(buffer.count == byteCount)
        guard byteCount > 0 else { return }
        var written = 0
        let rc = gcry_mpi_print(GCRYMPI_FMT_USG, buffer.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                buffer.count, &written, raw)
        precondition(rc == 0 && written == buffer.count, "gcry_mpi_print disagreed with gcry_mpi_get_nbits")
    }

    /// Public values only: the bytes land in an ordinary array.
    func bigEndian() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: byteCount)
        out.withUnsafeMutableBytes { write(into: $0) }
        return out
    }

    // Arithmetic into fresh integers; the result is secure when `secret` is true.

    static func product(_ a: borrowing GcryptInteger, _ b: borrowing GcryptInteger, secret: Bool) -> GcryptInteger {
        let r = secret ? GcryptInteger.secret() : GcryptInteger.plain()
        gcry_mpi_mul(r.raw, a.raw, b.raw)
        return r
    }

    /// a mod m, non-negative.
    static func remainder(_ a: borrowing GcryptInteger, _ m: borrowing GcryptInteger, secret: Bool) -> GcryptInteger {
        let r = secret ? GcryptInteger.secret() : GcryptInteger.plain()
        gcry_mpi_div(nil, r.raw, a.raw, m.raw, -1)
        return r
    }

    static func productModulo(_ a: borrowing GcryptInteger, _ b: borrowing GcryptInteger,
                              _ m: borrowing GcryptInteger, secret: Bool) -> GcryptInteger {
        let r = secret ? GcryptInteger.secret() : GcryptInteger.plain()
        gcry_mpi_mulm(r.raw, a.raw, b.raw, m.raw)
        return r
    }

    static func powerModulo(_ base: borrowing GcryptInteger, _ exponent: borrowing GcryptInteger,
                            _ m: borrowing GcryptInteger, secret: Bool) -> GcryptInteger {
        let r = secret ? GcryptInteger.secret() : GcryptInteger.plain()
        gcry_mpi_powm(r.raw, base.raw, exponent.raw, m.raw)
        return r
    }

    /// (a - b) mod m, non-negative.
    static func differenceModulo(_ a: borrowing GcryptInteger, _ b: borrowing GcryptInteger,
                                 _ m: borrowing GcryptInteger, secret: Bool) -> GcryptInteger {
        let r = secret ? GcryptInteger.secret() : GcryptInteger.plain()
        gcry_mpi_subm(r.raw, a.raw, b.raw, m.raw)
        return r
    }

    static func sum(_ a: borrowing GcryptInteger, _ b: borrowing GcryptInteger, secret: Bool) -> GcryptInteger {
        let r = secret ? GcryptInteger.secret() : GcryptInteger.plain()
        gcry_mpi_add(r.raw, a.raw, b.raw)
        return r
    }

    /// a^-1 mod m in secure memory, or nil when gcd(a, m) != 1.
    static func inverse(_ a: borrowing GcryptInteger, modulo m: borrowing GcryptInteger) -> GcryptInteger? {
        let r = GcryptInteger.secret()
        guard gcry_mpi_invm(r.raw, a.raw, m.raw) == 1 else { return nil }
        return r
    }

    /// Replaces the value by its square mod m, in place (the storage keeps its secure flag).
    func squareInPlace(modulo m: borrowing GcryptInteger) {
        gcry_mpi_mulm(raw, raw, raw, m.raw)
    }

    /// a - value, for a >= value.
    static func minus(_ a: borrowing GcryptInteger, _ value: UInt, secret: Bool) -> GcryptInteger {
        let r = secret ? GcryptInteger.secret() : GcryptInteger.plain()
        gcry_mpi_sub_ui(r.raw, a.raw, value)
        return r
    }
}
