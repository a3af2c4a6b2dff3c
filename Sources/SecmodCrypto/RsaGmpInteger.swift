internal import CNettle
internal import CSodium

/// A GMP integer for public-key arithmetic and for Nettle's API, which speaks `mpz_t`.
///
/// The `mpz_t` lives on the heap because GMP and Nettle keep pointers to it across calls;
/// a Swift local could move between them.
struct GmpInteger: ~Copyable {
    let pointer: UnsafeMutablePointer<__mpz_struct>

    init() {
        pointer = .allocate(capacity: 1)
        __gmpz_init(pointer)
    }

    init(bigEndian bytes: ArraySlice<UInt8>) {
        self.init()
        let z = pointer
        bytes.withUnsafeBytes { GmpInteger.set(z, bigEndian: $0) }
    }

    deinit {
        __gmpz_clear(pointer)
        pointer.deallocate()
    }

    /// Loads `bytes` into an existing `mpz_t` (for instance a field of a Nettle key).
    static func set(_ z: UnsafeMutablePointer<__mpz_struct>, bigEndian bytes: UnsafeRawBufferPointer) {
        __gmpz_import(z, bytes.count, 1, 1, 1, 0, bytes.baseAddress)
    }

    /// The value as minimal big-endian bytes.
    static func bigEndian(_ z: UnsafePointer<__mpz_struct>) -> [UInt8] {
        let count = (__gmpz_sizeinbase(z, 2) + 7) / 8
        guard z.pointee._mp_size != 0 else { return [] }
        var out = [UInt8](repeating: 0, count: count)
        var written = 0
        out.withUnsafeMutableBytes { _ = __gmpz_export($0.baseAddress, &written, 1, 1, 1, 0, z) }
        return Array(out.prefix(written))
    }

    /// Zeroes every allocated limb, so a secret leaves no copy when GMP frees the memory.
    static func wipe(_ z: UnsafeMutablePointer<__mpz_struct>) {
        if let limbs = z.pointee._mp_d, z.pointee._mp_alloc > 0 {
            sodium_memzero(limbs, Int(z.pointee._mp_alloc) * MemoryLayout<mp_limb_t>.size)
        }
    }

    /// base^exponent mod modulus, for public values only (`mpz_powm` is not constant time).
    static func powerModulo(base: ArraySlice<UInt8>, exponent: ArraySlice<UInt8>, modulus: ArraySlice<UInt8>) -> [UInt8] {
        let b = GmpInteger(bigEndian: base)
        let e = GmpInteger(bigEndian: exponent)
        let m = GmpInteger(bigEndian: modulus)
        let r = GmpInteger()
        __gmpz_powm(r.pointer, b.pointer, e.pointer, m.pointer)
        return bigEndian(r.pointer)
    }
}
