internal import COpenSSL
import SecmodBase

/// The NIST curves SSH host keys use (RFC 5656).
public enum EcdsaCurve: Sendable {
    case p256, p384, p521

    public init?(sshKeyType: String) {
        switch sshKeyType {
        case "ecdsa-sha2-nistp256": self = .p256
        case "ecdsa-sha2-nistp384": self = .p384
        case "ecdsa-sha2-nistp521": self = .p521
        default: return nil
        }
    }

    var sshName: String {
        switch self {
        case .p256: "nistp256"
        case .p384: "nistp384"
        case .p521: "nistp521"
        }
    }

    var openSSLName: String {
        switch self {
        case .p256: "prime256v1"
        case .p384: "secp384r1"
        case .p521: "secp521r1"
        }
    }
}

/// ECDSA verification of SSH host-key signatures (RFC 5656 §3.1.2) with OpenSSL: public
/// keys only, so that an agent can check a `session-bind` from a server with an ECDSA host
/// key. The SSH blobs are parsed here because their integers go straight to OpenSSL.
public enum EcdsaVerifier {
    /// `EVP_PKEY_PUBLIC_KEY`, a macro Swift does not import: all parameters and the public key.
    static let publicKeySelection = Int32(OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS | OSSL_KEYMGMT_SELECT_OTHER_PARAMETERS | OSSL_KEYMGMT_SELECT_PUBLIC_KEY)

    /// `hostKeyBlob`: `string type, string curve, string Q`; `signatureBlob`: `mpint r, mpint s`.
    public static func verify(hostKeyBlob: [UInt8], curve: EcdsaCurve, signatureBlob: [UInt8], message: [UInt8]) -> Bool {
        guard let (point, r, s) = parse(hostKeyBlob: hostKeyBlob, curve: curve, signatureBlob: signatureBlob) else { return false }
        guard (try? OpenSSL.initialize()) != nil else { return false }
        // The public key from its parameters.
        guard let build = OSSL_PARAM_BLD_new() else { return false }
        defer { OSSL_PARAM_BLD_free(build) }
        guard OSSL_PARAM_BLD_push_utf8_string(build, OSSL_PKEY_PARAM_GROUP_NAME, curve.openSSLName, 0) == 1,
              point.withUnsafeBytes({ OSSL_PARAM_BLD_push_octet_string(build, OSSL_PKEY_PARAM_PUB_KEY, $0.baseAddress, $0.count) }) == 1,
              let params = OSSL_PARAM_BLD_to_param(build) else { return false }
        defer { OSSL_PARAM_free(params) }
        guard let context = EVP_PKEY_CTX_new_from_name(nil, "EC", nil) else { return false }
        defer { EVP_PKEY_CTX_free(context) }
        var key: OpaquePointer?
        guard EVP_PKEY_fromdata_init(context) == 1, EVP_PKEY_fromdata(context, &key, publicKeySelection, params) == 1, let key else { return false }
        defer { EVP_PKEY_free(key) }
        // The signature as DER, which OpenSSL verifies.
        guard let sig = ECDSA_SIG_new() else { return false }
        defer { ECDSA_SIG_free(sig) }
        let bnR = r.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress, Int32($0.count), nil) }
        let bnS = s.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress, Int32($0.count), nil) }
        guard let bnR, let bnS, ECDSA_SIG_set0(sig, bnR, bnS) == 1 else {
            BN_free(bnR); BN_free(bnS)
            return false
        }
        var der: UnsafeMutablePointer<UInt8>?
        let derLength = i2d_ECDSA_SIG(sig, &der)
        guard derLength > 0, let der else { return false }
        defer { CRYPTO_free(der, #file, #line) }
        guard let md = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(md) }
        let digest: OpaquePointer? = switch curve {
        case .p256: EVP_sha256()
        case .p384: EVP_sha384()
        case .p521: EVP_sha512()
        }
        guard EVP_DigestVerifyInit(md, nil, digest, nil, key) == 1 else { return false }
        let rc = message.withUnsafeBufferPointer { m in
            EVP_DigestVerify(md, der, Int(derLength), m.baseAddress, m.count)
        }
        return rc == 1
    }

    private static func parse(hostKeyBlob: [UInt8], curve: EcdsaCurve, signatureBlob: [UInt8]) -> ([UInt8], [UInt8], [UInt8])? {
        var key = BlobReader(hostKeyBlob)
        guard key.string() != nil, let name = key.string(), String(decoding: name, as: UTF8.self) == curve.sshName,
              let point = key.string(), key.isAtEnd, point.first == 4 else { return nil }
        var sig = BlobReader(signatureBlob)
        guard let r = sig.string(), let s = sig.string(), sig.isAtEnd, r.count <= 67, s.count <= 67 else { return nil }
        return (point, r, s)
    }

    /// Just enough SSH `string` reading for the two blobs (SecmodCrypto sits below the wire layer).
    private struct BlobReader {
        let bytes: [UInt8]
        var offset = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }
        var isAtEnd: Bool { offset == bytes.count }
        mutating func string() -> [UInt8]? {
            guard bytes.count - offset >= 4 else { return nil }
            var n = 0
            for i in 0..<4 { n = n << 8 | Int(bytes[offset + i]) }
            guard n <= bytes.count - offset - 4 else { return nil }
            defer { offset += 4 + n }
            return Array(bytes[(offset + 4)..<(offset + 4 + n)])
        }
    }
}
