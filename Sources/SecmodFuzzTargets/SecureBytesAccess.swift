import SecmodCrypto

/// The targets' only raw-pointer code: getting fuzz input into locked memory and one byte
/// back out of it.
extension SecureBytes {
    /// The helper reads key files straight into locked memory; the target does the same, so
    /// the reader sees the kind of buffer it sees in production.
    init(copying bytes: [UInt8]) {
        self.init(count: bytes.count)
        withUnsafeMutableBytes { $0.copyBytes(from: bytes) }
    }

    var lastByte: UInt8? { withUnsafeBytes { $0.last } }
}
