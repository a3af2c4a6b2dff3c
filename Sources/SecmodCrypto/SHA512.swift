internal import CSodium

/// SHA-512, which GNUnet calls `GNUNET_CRYPTO_hash` (a `GNUNET_HashCode` is 64 bytes).
public enum SHA512 {
    public static let byteCount = 64

    public static func hash(_ data: [UInt8]) -> [UInt8] {
        Sodium.initialize()
        var out = [UInt8](repeating: 0, count: byteCount)
        out.withUnsafeMutableBufferPointer { o in
            data.withUnsafeBufferPointer { d in
                _ = crypto_hash_sha512(o.baseAddress!, d.baseAddress ?? emptyInput, UInt64(d.count))
            }
        }
        return out
    }
}
