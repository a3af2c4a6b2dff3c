internal import CPkcs11

/// One attribute of a template: its type and its value's bytes in the token's (host) layout.
struct Pkcs11Attribute {
    let type: UInt
    let value: [UInt8]

    static func bool(_ type: UInt, _ value: Bool) -> Pkcs11Attribute {
        Pkcs11Attribute(type: type, value: [value ? UInt8(CK_TRUE) : UInt8(CK_FALSE)])
    }

    static func ulong(_ type: UInt, _ value: UInt) -> Pkcs11Attribute {
        Pkcs11Attribute(type: type, value: withUnsafeBytes(of: CK_ULONG(value)) { Array($0) })
    }

    static func bytes(_ type: UInt, _ value: [UInt8]) -> Pkcs11Attribute {
        Pkcs11Attribute(type: type, value: value)
    }

    static func text(_ type: UInt, _ value: String) -> Pkcs11Attribute {
        Pkcs11Attribute(type: type, value: Array(value.utf8))
    }
}

/// Lays `attributes` out as a `CK_ATTRIBUTE` array whose values point into one buffer that
/// lives for the duration of `body`: the only place templates meet raw pointers.
func withTemplate<R, E: Error>(_ attributes: [Pkcs11Attribute],
                               _ body: (UnsafeMutablePointer<CK_ATTRIBUTE>?, CK_ULONG) throws(E) -> R) throws(E) -> R {
    let total = attributes.reduce(0) { $0 + $1.value.count }
    let values = UnsafeMutableRawPointer.allocate(byteCount: max(total, 1), alignment: MemoryLayout<CK_ULONG>.alignment)
    let template = UnsafeMutablePointer<CK_ATTRIBUTE>.allocate(capacity: max(attributes.count, 1))
    defer {
        // Imported keys pass their secret numbers through here.
        values.initializeMemory(as: UInt8.self, repeating: 0, count: max(total, 1))
        values.deallocate()
        template.deallocate()
    }
    var offset = 0
    for (i, attribute) in attributes.enumerated() {
        let at = values + offset
        attribute.value.withUnsafeBytes { bytes in
            if let base = bytes.baseAddress { at.copyMemory(from: base, byteCount: bytes.count) }
        }
        (template + i).initialize(to: CK_ATTRIBUTE(type: CK_ATTRIBUTE_TYPE(attribute.type), pValue: at,
                                                   ulValueLen: CK_ULONG(attribute.value.count)))
        offset += attribute.value.count
    }
    return try body(attributes.isEmpty ? nil : template, CK_ULONG(attributes.count))
}
