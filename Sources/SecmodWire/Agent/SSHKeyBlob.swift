import SecmodBase

/// A public key as SSH encodes it (RFC 4253 §6.6, RFC 8709): the "key blob" clients name
/// keys by.
public enum SSHPublicKey: Equatable, Sendable {
    case ed25519([UInt8])
    /// Exponent and modulus, big-endian without leading zeros.
    case rsa(exponent: [UInt8], modulus: [UInt8])
    /// A kind this agent does not hold keys of (ECDSA, security keys, certificates), by name.
    case other(type: String, blob: [UInt8])

    public static let ed25519Name = "ssh-ed25519"
    public static let rsaName = "ssh-rsa"

    public var typeName: String {
        switch self {
        case .ed25519: Self.ed25519Name
        case .rsa: Self.rsaName
        case let .other(type, _): type
        }
    }

    public var blob: [UInt8] {
        switch self {
        case let .ed25519(key):
            var w = SSHWriter()
            w.string(Self.ed25519Name)
            w.string(key)
            return w.bytes
        case let .rsa(exponent, modulus):
            var w = SSHWriter()
            w.string(Self.rsaName)
            w.positiveMpint(exponent)
            w.positiveMpint(modulus)
            return w.bytes
        case let .other(_, blob):
            return blob
        }
    }

    /// Parses a key blob. Ed25519 and RSA are checked field by field; other kinds are kept
    /// by name so that a caller can say what it was.
    public init(blob: [UInt8]) throws(SecmodError) {
        var r = SSHReader(blob)
        let type = try r.name("key type")
        switch type {
        case Self.ed25519Name:
            let key = try r.string("Ed25519 public key", maximum: 32)
            guard key.count == 32 else { throw SecmodError(.malformed, "an Ed25519 public key has 32 bytes, not \(key.count)") }
            try r.end("ssh-ed25519 key")
            self = .ed25519(key)
        case Self.rsaName:
            let e = try r.positiveMpint("RSA exponent", maximum: 64)
            let n = try r.positiveMpint("RSA modulus", maximum: 2049)
            try r.end("ssh-rsa key")
            guard !e.isEmpty, !n.isEmpty else { throw SecmodError(.malformed, "RSA key with a zero exponent or modulus") }
            self = .rsa(exponent: e, modulus: n)
        default:
            self = .other(type: type, blob: blob)
        }
    }

    /// `SHA256:…` as `ssh-keygen -l` and `ssh-add -l` print it: unpadded base64 of SHA-256
    /// over the blob. `sha256` is passed in, since this layer computes no hashes.
    public static func fingerprint(sha256 digest: [UInt8]) -> String {
        "SHA256:" + Base64.encode(digest, padded: false)
    }
}

/// A signature as SSH encodes it: `string algorithm, string signature` (RFC 4253 §6.6).
public struct SSHSignature: Equatable, Sendable {
    public let algorithm: String
    public let bytes: [UInt8]

    public init(algorithm: String, bytes: [UInt8]) {
        self.algorithm = algorithm
        self.bytes = bytes
    }

    public var encoded: [UInt8] {
        var w = SSHWriter()
        w.string(algorithm)
        w.string(bytes)
        return w.bytes
    }

    public init(encoded: [UInt8]) throws(SecmodError) {
        var r = SSHReader(encoded)
        algorithm = try r.name("signature algorithm")
        bytes = try r.string("signature", maximum: 1024)
        try r.end("signature blob")
    }
}

/// RFC 4648 base64, for fingerprints and the OpenSSH public key line.
public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    public static func encode(_ bytes: [UInt8], padded: Bool = true) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var i = 0
        while i < bytes.count {
            let b0 = UInt32(bytes[i]), b1 = i + 1 < bytes.count ? UInt32(bytes[i + 1]) : 0, b2 = i + 2 < bytes.count ? UInt32(bytes[i + 2]) : 0
            let v = b0 << 16 | b1 << 8 | b2
            out.append(alphabet[Int(v >> 18 & 63)])
            out.append(alphabet[Int(v >> 12 & 63)])
            if i + 1 < bytes.count { out.append(alphabet[Int(v >> 6 & 63)]) } else if padded { out.append(0x3D) }
            if i + 2 < bytes.count { out.append(alphabet[Int(v & 63)]) } else if padded { out.append(0x3D) }
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes padded or unpadded base64; nil for anything else.
    public static func decode(_ text: String) -> [UInt8]? {
        var values: [UInt8] = []
        for c in text.utf8 {
            if c == 0x3D { break }
            guard let index = alphabet.firstIndex(of: c) else { return nil }
            values.append(UInt8(index))
        }
        guard values.count % 4 != 1 else { return nil }
        var out: [UInt8] = []
        var i = 0
        while i < values.count {
            let chunk = values[i..<min(i + 4, values.count)]
            var v: UInt32 = 0
            for (k, x) in chunk.enumerated() { v |= UInt32(x) << UInt32(18 - 6 * k) }
            out.append(UInt8(v >> 16 & 0xFF))
            if chunk.count > 2 { out.append(UInt8(v >> 8 & 0xFF)) }
            if chunk.count > 3 { out.append(UInt8(v & 0xFF)) }
            i += 4
        }
        return out
    }
}
