/// A key's identity on the wire (an EdDSA public key, `h_rsa`, `h_cs`) as a dictionary key.
///
/// `[UInt8]` as a key hashes byte by byte (`Hasher.combine(UInt8)` 64 times for a SHA-512
/// id), which showed up on every request of a Clause-Schnorr batch, in the helper and in
/// the client. This hashes the bytes in one call. Ids are hashes or public keys an attacker
/// cannot aim at a bucket, and `Hasher` is seeded per process anyway.
public struct WireKeyID: Hashable, Sendable {
    public let bytes: [UInt8]

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    /// Eight bytes at a time: `Array<UInt8>.==` compared a 64-byte id byte by byte, about
    /// 480 instructions, on every key lookup (once per Clause-Schnorr batch item). Ids are
    /// public, so the early exit leaks nothing.
    public static func == (a: WireKeyID, b: WireKeyID) -> Bool {
        a.bytes.withUnsafeBytes { x in b.bytes.withUnsafeBytes { y in equal(x, y) } }
    }

    /// Whether `id` is the id that `bytes[range]` holds (a request names its key there).
    public static func matches(_ id: [UInt8], _ bytes: [UInt8], at range: Range<Int>) -> Bool {
        id.withUnsafeBytes { x in bytes.withUnsafeBytes { y in equal(x, UnsafeRawBufferPointer(rebasing: y[range])) } }
    }

    private static func equal(_ x: UnsafeRawBufferPointer, _ y: UnsafeRawBufferPointer) -> Bool {
        guard x.count == y.count else { return false }
        var i = 0
        while i + 8 <= x.count {
            guard x.loadUnaligned(fromByteOffset: i, as: UInt64.self) == y.loadUnaligned(fromByteOffset: i, as: UInt64.self) else {
                return false
            }
            i += 8
        }
        while i < x.count {
            guard x[i] == y[i] else { return false }
            i += 1
        }
        return true
    }
}
