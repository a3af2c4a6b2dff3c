import SecmodBase

/// Whatever makes Ed25519 signatures for a public key: a key in this process's locked
/// memory (`Ed25519PrivateKey`, which never fails) or one in a token, whose signing can
/// fail and whose signatures are checked before they are used.
public protocol Ed25519Signer: AnyObject, Sendable {
    var publicKey: [UInt8] { get }
    /// True when signing is a computation in this process that cannot block (about 18 µs),
    /// so that the event loop may do it; false for a token, whose calls may take long or hang.
    var signsInProcess: Bool { get }
    /// Signs `message[range]`. Safe to call from several threads at once.
    func sign(_ message: [UInt8], range: Range<Int>) throws(SecmodError) -> [UInt8]
}

extension Ed25519Signer {
    /// Signs the whole of `message`.
    public func sign(_ message: [UInt8]) throws(SecmodError) -> [UInt8] {
        try sign(message, range: 0..<message.count)
    }
}

extension Ed25519PrivateKey: Ed25519Signer {
    public var signsInProcess: Bool { true }
}
