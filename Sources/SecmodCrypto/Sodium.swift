internal import CSodium

/// libsodium initialisation. `sodium_init` is idempotent and thread-safe; calling it before
/// first use picks the fastest implementations and opens the random device once.
enum Sodium {
    static let initialized: Bool = sodium_init() >= 0

    static func initialize() {
        precondition(initialized, "libsodium failed to initialise")
    }
}

/// Fills a buffer with random bytes from libsodium's CSPRNG.
public func randomBytes(_ count: Int) -> [UInt8] {
    Sodium.initialize()
    var out = [UInt8](repeating: 0, count: count)
    if count > 0 { out.withUnsafeMutableBytes { randombytes_buf($0.baseAddress!, $0.count) } }
    return out
}
