internal import CPkcs11
import SecmodBase
import SecmodCrypto

/// The key operations a key store needs, named by the key's `CKA_ID` (object handles are
/// not stable across sessions of a restarted token, and some tokens cannot change an
/// attribute after creation, so the id is chosen before the key is made).
extension Pkcs11Token {
    /// A private key of ours as the token lists it.
    public struct PrivateKeyObject: Sendable {
        public let id: [UInt8]
        public let label: String
    }

    /// `CKA_EC_PARAMS` for Ed25519: the OID 1.3.101.112 (RFC 8410), which PKCS#11 3.0
    /// prefers, and the printable string "edwards25519", which older tokens want.
    static let ed25519Parameters: [[UInt8]] = [
        [0x06, 0x03, 0x2B, 0x65, 0x70],
        [0x13, 0x0C] + Array("edwards25519".utf8),
    ]

    /// The attributes every private key of ours has: in the token for good, readable only
    /// after login, never leaving it in any form, and good for signing only. `CKA_DECRYPT`
    /// and `CKA_UNWRAP` are false on purpose: a raw-RSA blind-signing key that could also
    /// decrypt would be a decryption oracle for anything encrypted to it.
    static func privateKeyTemplate(keyType: UInt, id: [UInt8], label: String) -> [Pkcs11Attribute] {
        [
            .ulong(UInt(CKA_CLASS), UInt(CKO_PRIVATE_KEY)), .ulong(UInt(CKA_KEY_TYPE), keyType),
            .bool(UInt(CKA_TOKEN), true), .bool(UInt(CKA_PRIVATE), true), .bool(UInt(CKA_SENSITIVE), true),
            .bool(UInt(CKA_EXTRACTABLE), false), .bool(UInt(CKA_SIGN), true), .bool(UInt(CKA_DECRYPT), false),
            .bool(UInt(CKA_UNWRAP), false), .bool(UInt(CKA_DERIVE), false), .bool(UInt(CKA_SIGN_RECOVER), false),
            .bytes(UInt(CKA_ID), id), .text(UInt(CKA_LABEL), label),
        ]
    }

    /// The public half lives only as long as the session: its value goes into the key
    /// store's reference, and the token keeps just the private key.
    static func publicKeyTemplate(keyType: UInt, id: [UInt8], label: String) -> [Pkcs11Attribute] {
        [
            .ulong(UInt(CKA_CLASS), UInt(CKO_PUBLIC_KEY)), .ulong(UInt(CKA_KEY_TYPE), keyType),
            .bool(UInt(CKA_TOKEN), false), .bool(UInt(CKA_VERIFY), true), .bool(UInt(CKA_ENCRYPT), false),
            .bool(UInt(CKA_WRAP), false), .bytes(UInt(CKA_ID), id), .text(UInt(CKA_LABEL), label),
        ]
    }

    /// Generates an Ed25519 key in the token; returns its 32-byte public key.
    public func generateEd25519(id: [UInt8], label: String) throws(SecmodError) -> [UInt8] {
        try withSession("generating an Ed25519 key") { (session) throws(Pkcs11Failure) in
            var lastFailure: Pkcs11Failure?
            for parameters in Self.ed25519Parameters {
                let keyType = UInt(CKK_EC_EDWARDS)
                let pair: (CK_OBJECT_HANDLE, CK_OBJECT_HANDLE)
                do throws(Pkcs11Failure) {
                    pair = try session.generateKeyPair(
                        mechanism: UInt(CKM_EC_EDWARDS_KEY_PAIR_GEN),
                        publicKey: Self.publicKeyTemplate(keyType: keyType, id: id, label: label) + [.bytes(UInt(CKA_EC_PARAMS), parameters)],
                        privateKey: Self.privateKeyTemplate(keyType: keyType, id: id, label: label))
                } catch where Self.curveRefused(error) {
                    lastFailure = error
                    continue
                }
                defer { try? session.destroy(pair.0) }
                let point = try session.attribute(UInt(CKA_EC_POINT), of: pair.0) ?? []
                guard let publicKey = Self.ed25519Point(point) else {
                    try? session.destroy(pair.1)
                    throw Pkcs11Failure(call: "CKA_EC_POINT of the new key (\(point.count) bytes, not an Ed25519 point)",
                                        returnCode: Pkcs11ReturnCode(UInt(CKR_FUNCTION_FAILED)))
                }
                cache(handle: pair.1, id: id)
                return publicKey
            }
            throw lastFailure!
        }
    }

    /// Generates an RSA key with e = 65537 in the token; returns n and e, big-endian.
    public func generateRsa(bits: Int, id: [UInt8], label: String) throws(SecmodError) -> (modulus: [UInt8], exponent: [UInt8]) {
        try withSession("generating an RSA-\(bits) key") { (session) throws(Pkcs11Failure) in
            let keyType = UInt(CKK_RSA)
            let pair = try session.generateKeyPair(
                mechanism: UInt(CKM_RSA_PKCS_KEY_PAIR_GEN),
                publicKey: Self.publicKeyTemplate(keyType: keyType, id: id, label: label)
                    + [.ulong(UInt(CKA_MODULUS_BITS), UInt(bits)), .bytes(UInt(CKA_PUBLIC_EXPONENT), [0x01, 0x00, 0x01])],
                privateKey: Self.privateKeyTemplate(keyType: keyType, id: id, label: label))
            defer { try? session.destroy(pair.0) }
            guard let modulus = try session.attribute(UInt(CKA_MODULUS), of: pair.0),
                  let exponent = try session.attribute(UInt(CKA_PUBLIC_EXPONENT), of: pair.0) else {
                try? session.destroy(pair.1)
                throw Pkcs11Failure(call: "reading the new RSA key's modulus", returnCode: Pkcs11ReturnCode(UInt(CKR_FUNCTION_FAILED)))
            }
            cache(handle: pair.1, id: id)
            return (modulus, exponent)
        }
    }

    /// Imports an Ed25519 key from its 32-byte seed (`secmod keys import`): sensitive and not
    /// extractable from now on (a token reports it as neither always sensitive nor never
    /// extractable, which is the truth).
    public func importEd25519(seed: [UInt8], id: [UInt8], label: String) throws(SecmodError) {
        try withSession("importing an Ed25519 key") { (session) throws(Pkcs11Failure) in
            var lastFailure: Pkcs11Failure?
            for parameters in Self.ed25519Parameters {
                do throws(Pkcs11Failure) {
                    let object = try session.create(Self.privateKeyTemplate(keyType: UInt(CKK_EC_EDWARDS), id: id, label: label)
                        + [.bytes(UInt(CKA_EC_PARAMS), parameters), .bytes(UInt(CKA_VALUE), seed)])
                    cache(handle: object, id: id)
                    return
                } catch where Self.curveRefused(error) {
                    lastFailure = error
                }
            }
            throw lastFailure!
        }
    }

    /// Imports an RSA key from its PKCS#1 numbers (`secmod keys import`).
    public func importRsa(_ numbers: RsaPrivateNumbers, id: [UInt8], label: String) throws(SecmodError) {
        try withSession("importing an RSA key") { (session) throws(Pkcs11Failure) in
            let object = try session.create(Self.privateKeyTemplate(keyType: UInt(CKK_RSA), id: id, label: label) + [
                .bytes(UInt(CKA_MODULUS), numbers.modulus), .bytes(UInt(CKA_PUBLIC_EXPONENT), numbers.publicExponent),
                .bytes(UInt(CKA_PRIVATE_EXPONENT), numbers.privateExponent), .bytes(UInt(CKA_PRIME_1), numbers.prime1),
                .bytes(UInt(CKA_PRIME_2), numbers.prime2), .bytes(UInt(CKA_EXPONENT_1), numbers.exponent1),
                .bytes(UInt(CKA_EXPONENT_2), numbers.exponent2), .bytes(UInt(CKA_COEFFICIENT), numbers.coefficient),
            ])
            cache(handle: object, id: id)
        }
    }

    /// Signs `data` with the private key `id` under `mechanism`. `maximumLength`: the
    /// largest signature the mechanism makes with this key.
    public func sign(id: [UInt8], mechanism: Pkcs11Mechanism, data: UnsafeRawBufferPointer,
                     maximumLength: Int) throws(SecmodError) -> [UInt8] {
        try withSession("signing with \(mechanism)") { (session) throws(Pkcs11Failure) in
            var handle = try self.handle(id: id, session: session)
            do throws(Pkcs11Failure) {
                return try session.sign(mechanism: mechanism.rawValue, key: handle, data: data, maximumLength: maximumLength)
            } catch where error.returnCode.handleInvalid {
                forget(id: id)
                handle = try self.handle(id: id, session: session)
                return try session.sign(mechanism: mechanism.rawValue, key: handle, data: data, maximumLength: maximumLength)
            }
        }
    }

    /// Whether the token holds a private key with this id.
    public func hasPrivateKey(id: [UInt8]) throws(SecmodError) -> Bool {
        try withSession("looking for a key") { (session) throws(Pkcs11Failure) in
            do throws(Pkcs11Failure) {
                _ = try handle(id: id, session: session)
                return true
            } catch where error.returnCode.handleInvalid {
                return false
            }
        }
    }

    /// Destroys the private key `id`; a key that is not there is not an error.
    public func destroyPrivateKey(id: [UInt8]) throws(SecmodError) {
        try withSession("destroying a key") { (session) throws(Pkcs11Failure) in
            for object in try session.find(Self.privateKeyQuery(id: id)) {
                try session.destroy(object)
            }
            forget(id: id)
        }
    }

    /// The private keys in the token that are on the token (not session objects).
    public func privateKeys() throws(SecmodError) -> [PrivateKeyObject] {
        try withSession("listing keys") { (session) throws(Pkcs11Failure) in
            var result: [PrivateKeyObject] = []
            for object in try session.find([.ulong(UInt(CKA_CLASS), UInt(CKO_PRIVATE_KEY)), .bool(UInt(CKA_TOKEN), true)]) {
                let id = try session.attribute(UInt(CKA_ID), of: object) ?? []
                let label = try session.attribute(UInt(CKA_LABEL), of: object).map { String(decoding: $0, as: UTF8.self) } ?? ""
                result.append(PrivateKeyObject(id: id, label: label))
            }
            return result
        }
    }

    // MARK: - Helpers

    static func privateKeyQuery(id: [UInt8]) -> [Pkcs11Attribute] {
        [.ulong(UInt(CKA_CLASS), UInt(CKO_PRIVATE_KEY)), .bool(UInt(CKA_TOKEN), true), .bytes(UInt(CKA_ID), id)]
    }

    /// The private key's handle, from the cache or found by id. A missing key answers
    /// CKR_KEY_HANDLE_INVALID, which `sign` turns into a failed request; two keys with one
    /// id are refused, because the store could not tell which one it made.
    private func handle(id: [UInt8], session: Pkcs11Session) throws(Pkcs11Failure) -> CK_OBJECT_HANDLE {
        if let handle = cachedHandle(id: id) { return handle }
        let found = try session.find(Self.privateKeyQuery(id: id))
        guard found.count == 1 else {
            throw Pkcs11Failure(call: found.isEmpty ? "C_FindObjects (no private key with this CKA_ID)"
                                                    : "C_FindObjects (\(found.count) private keys with one CKA_ID)",
                                returnCode: Pkcs11ReturnCode(UInt(found.isEmpty ? CKR_KEY_HANDLE_INVALID : CKR_FUNCTION_FAILED)))
        }
        cache(handle: found[0], id: id)
        return found[0]
    }

    /// A token that does not know one spelling of the curve says so in one of these ways.
    private static func curveRefused(_ failure: Pkcs11Failure) -> Bool {
        [CKR_CURVE_NOT_SUPPORTED, CKR_ATTRIBUTE_VALUE_INVALID, CKR_DOMAIN_PARAMS_INVALID, CKR_TEMPLATE_INCONSISTENT]
            .contains { UInt($0) == failure.returnCode.rawValue }
    }

    /// `CKA_EC_POINT` of an Ed25519 key: a DER OCTET STRING around the 32 bytes, as PKCS#11
    /// 3.0 says, or (some tokens) the 32 bytes bare.
    static func ed25519Point(_ point: [UInt8]) -> [UInt8]? {
        if point.count == 34, point[0] == 0x04, point[1] == 0x20 { return Array(point[2...]) }
        if point.count == 32 { return point }
        return nil
    }
}
