internal import COpenSSL
internal import CSodium

/// The hash functions the ssh-agent side needs besides SHA-512: SHA-256 (libsodium), and
/// SHA-1 and SHA3-256 (OpenSSL; libsodium has neither). SHA-1 only for the legacy
/// `ssh-rsa` signature scheme, which a key must allow explicitly.
public enum Digest: Sendable, Equatable {
    case sha1
    case sha256
    case sha512
    case sha3_256

    public var byteCount: Int {
        switch self {
        case .sha1: 20
        case .sha256, .sha3_256: 32
        case .sha512: 64
        }
    }

    public func hash(_ data: [UInt8]) -> [UInt8] {
        switch self {
        case .sha512:
            return SHA512.hash(data)
        case .sha256:
            Sodium.initialize()
            var out = [UInt8](repeating: 0, count: 32)
            out.withUnsafeMutableBufferPointer { o in
                data.withUnsafeBufferPointer { d in
                    _ = crypto_hash_sha256(o.baseAddress!, d.baseAddress ?? emptyInput, UInt64(d.count))
                }
            }
            return out
        case .sha1, .sha3_256:
            var out = [UInt8](repeating: 0, count: byteCount)
            let md = self == .sha1 ? EVP_sha1() : EVP_sha3_256()
            let ok = out.withUnsafeMutableBufferPointer { o in
                data.withUnsafeBufferPointer { d in
                    EVP_Digest(d.baseAddress ?? emptyInput, d.count, o.baseAddress!, nil, md, nil)
                }
            }
            precondition(ok == 1, "OpenSSL's \(self) failed")
            return out
        }
    }
}
