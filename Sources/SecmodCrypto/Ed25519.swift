internal import CSodium
import SecmodBase
import SecmodSystem

/// An Ed25519 signing key (RFC 8032), as GNUnet's EdDSA: a 32-byte seed on disk, plain
/// Ed25519 over the raw purpose bytes, deterministic signatures.
///
/// A class so that the key store and the worker threads share one copy of the secret;
/// the secret lives in `SecureBytes` and is wiped when the last reference goes.
public final class Ed25519PrivateKey: Sendable {
    public static let seedByteCount = 32
    public static let publicKeyByteCount = 32
    public static let signatureByteCount = 64

    /// libsodium's 64-byte secret key: seed || public key.
    private let secretKey: SecureBytes
    public let publicKey: [UInt8]

    /// Derives the key pair from a 32-byte seed.
    public init(seed: borrowing SecureBytes) throws(SecmodError) {
        guard seed.count == Self.seedByteCount else {
            throw SecmodError(.keyFile, "an Ed25519 seed has 32 bytes, not \(seed.count)")
        }
        Sodium.initialize()
        var sk = SecureBytes(count: 64)
        var pk = [UInt8](repeating: 0, count: 32)
        let rc = seed.withUnsafeBytes { s in
            sk.withUnsafeMutableBytes { k in
                pk.withUnsafeMutableBufferPointer { p in
                    crypto_sign_seed_keypair(p.baseAddress!, k.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                             s.baseAddress!.assumingMemoryBound(to: UInt8.self))
                }
            }
        }
        guard rc == 0 else { throw SecmodError(.crypto, "Ed25519 key derivation failed") }
        secretKey = sk
        publicKey = pk
    }

    /// The seed, for key blinding (`OnionKeyBlinding.swift`); never copied out of locked memory.
    func withSeed<R: ~Copyable, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try secretKey.withUnsafeBytes { (k) throws(E) in try body(UnsafeRawBufferPointer(rebasing: k.prefix(Self.seedByteCount))) }
    }

    /// The seed as bytes, for tests that hand a key to an agent as a client would.
    package func withSeedForTesting(_ body: ([UInt8]) -> Void) {
        withSeed { body(Array($0)) }
    }

    /// A fresh seed from the CSPRNG; the caller stores it, then derives the key with `init(seed:)`.
    public static func generateSeed() -> SecureBytes {
        SecureBytes.random(count: seedByteCount)
    }

    /// Signs `message` (for Taler: the purpose header and the bytes it covers).
    public func sign(_ message: [UInt8]) -> [UInt8] {
        var signature = [UInt8](repeating: 0, count: Self.signatureByteCount)
        signature.withUnsafeMutableBufferPointer { sig in
            message.withUnsafeBufferPointer { m in
                secretKey.withUnsafeBytes { k in
                    _ = crypto_sign_detached(sig.baseAddress!, nil, m.baseAddress ?? emptyInput, UInt64(m.count),
                                             k.baseAddress!.assumingMemoryBound(to: UInt8.self))
                }
            }
        }
        return signature
    }

    /// Signs `message[range]` without copying it out of a received datagram.
    public func sign(_ message: [UInt8], range: Range<Int>) -> [UInt8] {
        precondition(range.lowerBound >= 0 && range.upperBound <= message.count)
        var signature = [UInt8](repeating: 0, count: Self.signatureByteCount)
        signature.withUnsafeMutableBufferPointer { sig in
            message.withUnsafeBufferPointer { m in
                secretKey.withUnsafeBytes { k in
                    _ = crypto_sign_detached(sig.baseAddress!, nil, (m.baseAddress ?? emptyInput) + range.lowerBound,
                                             UInt64(range.count), k.baseAddress!.assumingMemoryBound(to: UInt8.self))
                }
            }
        }
        return signature
    }
}

public enum Ed25519 {
    /// Verifies a detached signature. Rejects non-canonical encodings, as libsodium does.
    public static func verify(signature: [UInt8], message: [UInt8], publicKey: [UInt8]) -> Bool {
        guard signature.count == 64, publicKey.count == 32 else { return false }
        Sodium.initialize()
        return signature.withUnsafeBufferPointer { s in
            message.withUnsafeBufferPointer { m in
                publicKey.withUnsafeBufferPointer { p in
                    crypto_sign_verify_detached(s.baseAddress!, m.baseAddress ?? emptyInput, UInt64(m.count), p.baseAddress!) == 0
                }
            }
        }
    }
}

/// libsodium wants a valid pointer even for zero-length input, which an empty array lacks.
nonisolated(unsafe) let emptyInput: UnsafePointer<UInt8> = {
    let p = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
    p.initialize(to: 0)
    return UnsafePointer(p)
}()
