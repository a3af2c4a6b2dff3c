import SecmodBase
import SecmodCrypto

/// What the key directory holds for a key that lives in a PKCS#11 token: which token, the
/// object's `CKA_ID`, and the public key, in a file named by the key's anchor like a key
/// file and written with the same care (temporary file, fsync, rename, fsync the
/// directory, mode 0400). Text, so that an operator can match it with
/// `pkcs11-tool --list-objects`:
///
///     secmod-pkcs11-key 1
///     token exchange-hsm
///     id 6c1b0e7a93f2d4a1c05e7b2f9d8e3a64
///     algorithm rsa-2048
///     public 01000003c2f1…
///
/// `public` is the Ed25519 key, or the RSA key in GNUnet's encoding (wire.md §3.4). A
/// reference carries no secret; it is mode 0400 because it is part of the key store.
public struct KeyReference: Sendable, Equatable {
    public let token: String
    public let id: [UInt8]
    public let algorithm: KeyAlgorithm
    public let publicKey: [UInt8]

    public static let magic = "secmod-pkcs11-key 1"
    /// Large enough for an RSA-8192 public key in hex, small enough to read at once.
    public static let maximumSize = 4096
    /// The smallest possible reference; an Ed25519 key file (32 bytes) is shorter.
    public static let minimumSize = 64

    public init(token: String, id: [UInt8], algorithm: KeyAlgorithm, publicKey: [UInt8]) {
        self.token = token
        self.id = id
        self.algorithm = algorithm
        self.publicKey = publicKey
    }

    public static func isPlausibleSize(_ size: Int64) -> Bool {
        size >= Int64(minimumSize) && size <= Int64(maximumSize)
    }

    /// Whether `contents` claims to be a reference (rather than a key file).
    public static func isReference(_ contents: UnsafeRawBufferPointer) -> Bool {
        let prefix = Array((magic + "\n").utf8)
        return contents.count >= prefix.count && zip(contents, prefix).allSatisfy { $0 == $1 }
    }

    public func encoded() -> [UInt8] {
        Array("""
            \(Self.magic)
            token \(token)
            id \(Hex.encode(id))
            algorithm \(algorithm)
            public \(Hex.encode(publicKey))

            """.utf8)
    }

    /// Parses exactly the layout `encoded` writes; anything else is refused with what is
    /// wrong (never guessed at: a reference names a key that signs for an exchange).
    public init(parsing contents: UnsafeRawBufferPointer, path: String) throws(SecmodError) {
        func bad(_ why: String) -> SecmodError { SecmodError(.keyFile, "key reference \(path): \(why)") }
        guard contents.count <= Self.maximumSize, contents.last == 0x0A else { throw bad("not a complete reference") }
        guard let text = String(validating: contents, as: UTF8.self) else { throw bad("not UTF-8") }
        let lines = text.dropLast().split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count == 5, lines[0] == Self.magic else { throw bad("expected 5 lines starting with '\(Self.magic)'") }
        func field(_ line: Substring, _ name: String) throws(SecmodError) -> Substring {
            guard line.hasPrefix(name + " ") else { throw bad("expected a '\(name)' line") }
            return line.dropFirst(name.count + 1)
        }
        let token = try field(lines[1], "token")
        guard !token.isEmpty, token.utf8.count <= 32 else { throw bad("a token label has 1 to 32 bytes") }
        guard let id = Hex.decode(try field(lines[2], "id")), !id.isEmpty, id.count <= 64 else {
            throw bad("the id is not 1 to 64 bytes in hex")
        }
        guard let algorithm = KeyAlgorithm(try field(lines[3], "algorithm")) else { throw bad("unknown algorithm") }
        guard let publicKey = Hex.decode(try field(lines[4], "public")), !publicKey.isEmpty else {
            throw bad("the public key is not hex")
        }
        if case .ed25519 = algorithm, publicKey.count != 32 { throw bad("an Ed25519 public key has 32 bytes") }
        self.init(token: String(token), id: id, algorithm: algorithm, publicKey: publicKey)
    }
}

extension KeyReference {
    /// The reference a key directory's entry holds, or nil when it holds a key file.
    public static func read(from contents: borrowing SecureBytes, path: String) throws(SecmodError) -> KeyReference? {
        guard contents.withUnsafeBytes({ isReference($0) }) else { return nil }
        return try contents.withUnsafeBytes { bytes in
            Result { () throws(SecmodError) in try KeyReference(parsing: bytes, path: path) }
        }.get()
    }
}
