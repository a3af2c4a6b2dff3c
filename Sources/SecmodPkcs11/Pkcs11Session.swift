internal import CPkcs11
import SecmodBase
import SecmodCrypto

/// One open session with a token: the calls a key store makes, each a thin typed wrapper
/// over one PKCS#11 function. A session is used by one thread at a time (`Pkcs11Token`
/// lends them out); the library's own locking covers the rest.
struct Pkcs11Session {
    let module: Pkcs11Module
    let handle: CK_SESSION_HANDLE

    private var f: CK_FUNCTION_LIST { module.functions.pointee }

    /// A read-write serial session on `slot`.
    static func open(_ module: Pkcs11Module, slot: UInt) throws(Pkcs11Failure) -> Pkcs11Session {
        var handle: CK_SESSION_HANDLE = 0
        try check(module.functions.pointee.C_OpenSession(CK_SLOT_ID(slot), CK_FLAGS(CKF_SERIAL_SESSION | CKF_RW_SESSION),
                                                         nil, nil, &handle), "C_OpenSession")
        return Pkcs11Session(module: module, handle: handle)
    }

    func close() {
        _ = f.C_CloseSession(handle)
    }

    /// Logs the application in as the token's user. Login is per application and token, not
    /// per session: an application that is logged in already is fine.
    func login(pin: borrowing SecureBytes) throws(Pkcs11Failure) {
        let rv = pin.withUnsafeBytes { p in
            f.C_Login(handle, CK_USER_TYPE(CKU_USER),
                      UnsafeMutablePointer(mutating: p.baseAddress?.assumingMemoryBound(to: CK_UTF8CHAR.self)), CK_ULONG(p.count))
        }
        if Pkcs11ReturnCode(rv) == .userAlreadyLoggedIn { return }
        try check(rv, "C_Login")
    }

    /// Generates a key pair in the token; returns (public, private) handles.
    func generateKeyPair(mechanism: UInt, publicKey: [Pkcs11Attribute],
                         privateKey: [Pkcs11Attribute]) throws(Pkcs11Failure) -> (CK_OBJECT_HANDLE, CK_OBJECT_HANDLE) {
        var mech = CK_MECHANISM(mechanism: CK_MECHANISM_TYPE(mechanism), pParameter: nil, ulParameterLen: 0)
        var pub: CK_OBJECT_HANDLE = 0, priv: CK_OBJECT_HANDLE = 0
        let rv = withTemplate(publicKey) { pubTemplate, pubCount in
            withTemplate(privateKey) { privTemplate, privCount in
                f.C_GenerateKeyPair(handle, &mech, pubTemplate, pubCount, privTemplate, privCount, &pub, &priv)
            }
        }
        try check(rv, "C_GenerateKeyPair")
        return (pub, priv)
    }

    /// The value of one attribute, or nil if the object does not have it.
    func attribute(_ type: UInt, of object: CK_OBJECT_HANDLE) throws(Pkcs11Failure) -> [UInt8]? {
        var query = CK_ATTRIBUTE(type: CK_ATTRIBUTE_TYPE(type), pValue: nil, ulValueLen: 0)
        let rv = f.C_GetAttributeValue(handle, object, &query, 1)
        if rv == CKR_ATTRIBUTE_TYPE_INVALID || rv == CKR_ATTRIBUTE_SENSITIVE { return nil }
        try check(rv, "C_GetAttributeValue")
        guard query.ulValueLen != CK_ULONG.max else { return nil }  // CK_UNAVAILABLE_INFORMATION
        var value = [UInt8](repeating: 0, count: Int(query.ulValueLen))
        let read = value.withUnsafeMutableBytes { buffer in
            var attribute = CK_ATTRIBUTE(type: CK_ATTRIBUTE_TYPE(type), pValue: buffer.baseAddress, ulValueLen: CK_ULONG(buffer.count))
            let rv = f.C_GetAttributeValue(handle, object, &attribute, 1)
            return (rv, Int(attribute.ulValueLen))
        }
        try check(read.0, "C_GetAttributeValue")
        return Array(value.prefix(read.1))
    }

    /// The objects that match every attribute of `template`.
    func find(_ template: [Pkcs11Attribute]) throws(Pkcs11Failure) -> [CK_OBJECT_HANDLE] {
        try withTemplate(template) { (attributes, count) throws(Pkcs11Failure) in
            try check(f.C_FindObjectsInit(handle, attributes, count), "C_FindObjectsInit")
        }
        defer { _ = f.C_FindObjectsFinal(handle) }
        var found: [CK_OBJECT_HANDLE] = []
        var batch = [CK_OBJECT_HANDLE](repeating: 0, count: 64)
        while true {
            var n: CK_ULONG = 0
            try check(f.C_FindObjects(handle, &batch, CK_ULONG(batch.count), &n), "C_FindObjects")
            if n == 0 { return found }
            found += batch.prefix(Int(n))
        }
    }

    /// Signs `data` with the private key `key` in one `C_SignInit`/`C_Sign` pair; the
    /// signature has at most `maximumLength` bytes.
    func sign(mechanism: UInt, key: CK_OBJECT_HANDLE, data: UnsafeRawBufferPointer,
              maximumLength: Int) throws(Pkcs11Failure) -> [UInt8] {
        var mech = CK_MECHANISM(mechanism: CK_MECHANISM_TYPE(mechanism), pParameter: nil, ulParameterLen: 0)
        try check(f.C_SignInit(handle, &mech, key), "C_SignInit")
        var signature = [UInt8](repeating: 0, count: maximumLength)
        var length = CK_ULONG(maximumLength)
        let rv = signature.withUnsafeMutableBufferPointer { s in
            f.C_Sign(handle, UnsafeMutablePointer(mutating: data.baseAddress?.assumingMemoryBound(to: CK_BYTE.self)),
                     CK_ULONG(data.count), s.baseAddress, &length)
        }
        try check(rv, "C_Sign")
        return Array(signature.prefix(Int(length)))
    }

    /// Creates an object from `template` (a key imported into the token).
    func create(_ template: [Pkcs11Attribute]) throws(Pkcs11Failure) -> CK_OBJECT_HANDLE {
        var object: CK_OBJECT_HANDLE = 0
        let rv = withTemplate(template) { attributes, count in f.C_CreateObject(handle, attributes, count, &object) }
        try check(rv, "C_CreateObject")
        return object
    }

    func destroy(_ object: CK_OBJECT_HANDLE) throws(Pkcs11Failure) {
        try check(f.C_DestroyObject(handle, object), "C_DestroyObject")
    }
}
