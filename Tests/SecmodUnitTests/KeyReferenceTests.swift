import SecmodBase
import SecmodKeys
import Testing

/// The reference a key directory holds for a key in a PKCS#11 token (docs/spec/key-store.md).
@Suite struct KeyReferenceTests {
    let reference = KeyReference(token: "exchange-hsm", id: Array(0..<16), algorithm: .rsa(bits: 2048),
                                 publicKey: [0x01, 0x00, 0x00, 0x03] + [UInt8](repeating: 0xC5, count: 256) + [1, 0, 1])

    func parse(_ bytes: [UInt8]) throws(SecmodError) -> KeyReference {
        try bytes.withUnsafeBytes { b in Result { () throws(SecmodError) in try KeyReference(parsing: b, path: "x") } }.get()
    }

    @Test func roundTripsInTheDocumentedLayout() throws {
        let bytes = reference.encoded()
        #expect(String(decoding: bytes.prefix(200), as: UTF8.self).hasPrefix("secmod-pkcs11-key 1\ntoken exchange-hsm\nid 000102030405060708090a0b0c0d0e0f\nalgorithm rsa-2048\npublic 01000003c5c5"))
        #expect(try parse(bytes) == reference)
        #expect(bytes.withUnsafeBytes { KeyReference.isReference($0) })
        #expect(KeyReference.isPlausibleSize(Int64(bytes.count)))
        let ed = KeyReference(token: "t", id: [9], algorithm: .ed25519, publicKey: Array(repeating: 7, count: 32))
        #expect(try parse(ed.encoded()) == ed)
    }

    @Test(arguments: [
        "secmod-pkcs11-key 2\ntoken t\nid 00\nalgorithm ed25519\npublic \(String(repeating: "07", count: 32))\n",
        "secmod-pkcs11-key 1\ntoken t\nid 00\nalgorithm ed25519\npublic \(String(repeating: "07", count: 31))\n",
        "secmod-pkcs11-key 1\ntoken t\nid 0\nalgorithm ed25519\npublic \(String(repeating: "07", count: 32))\n",
        "secmod-pkcs11-key 1\ntoken \nid 00\nalgorithm ed25519\npublic \(String(repeating: "07", count: 32))\n",
        "secmod-pkcs11-key 1\ntoken t\nid 00\nalgorithm rsa-512\npublic 00\n",
        "secmod-pkcs11-key 1\ntoken t\nid 00\nalgorithm ed25519\npublic \(String(repeating: "07", count: 32))",
        "secmod-pkcs11-key 1\nid 00\ntoken t\nalgorithm ed25519\npublic \(String(repeating: "07", count: 32))\n",
        "secmod-pkcs11-key 1\ntoken t\nid 00\nalgorithm ed25519\npublic \(String(repeating: "07", count: 32))\nextra\n",
        "secmod-pkcs11-key 1\ntoken \(String(repeating: "x", count: 33))\nid 00\nalgorithm ed25519\npublic \(String(repeating: "07", count: 32))\n",
    ])
    func refusesAnythingElse(_ text: String) {
        #expect(throws: SecmodError.self) { try parse(Array(text.utf8)) }
    }

    @Test func aSeedIsNoReference() {
        let seed = [UInt8](repeating: 0x73, count: 32)
        #expect(!seed.withUnsafeBytes { KeyReference.isReference($0) })
        #expect(!KeyReference.isPlausibleSize(32))
    }
}
