internal import CSodium

/// Secret bytes in libsodium's guarded memory: locked out of swap, fenced by guard pages,
/// and zeroed when released. Non-copyable, so a secret exists exactly once in memory.
public struct SecureBytes: ~Copyable, @unchecked Sendable {
    private let pointer: UnsafeMutableRawPointer
    public let count: Int

    /// Allocates `count` zeroed bytes.
    public init(count: Int) {
        Sodium.initialize()
        guard let p = sodium_malloc(max(count, 1)) else {
            fatalError("sodium_malloc(\(count)) failed: out of locked memory")
        }
        sodium_memzero(p, max(count, 1))
        pointer = p
        self.count = count
    }

    /// Fills a new buffer from the operating system's CSPRNG.
    public static func random(count: Int) -> SecureBytes {
        let bytes = SecureBytes(count: count)
        randombytes_buf(bytes.pointer, count)
        return bytes
    }

    deinit { sodium_free(pointer) }  // zeroes before freeing

    public func withUnsafeBytes<R: ~Copyable, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    public mutating func withUnsafeMutableBytes<R: ~Copyable, E: Error>(_ body: (UnsafeMutableRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeMutableRawBufferPointer(start: pointer, count: count))
    }

    /// Constant-time comparison, for tests and consistency checks.
    public func isEqual(to other: borrowing SecureBytes) -> Bool {
        count == other.count && sodium_memcmp(pointer, other.pointer, count) == 0
    }
}


/// Scratch space for a secret that lives for one computation (a nonce, an HMAC state): on
/// the stack, zeroed before and after `body`. `SecureBytes` is for secrets that stay;
/// each of its guarded, locked allocations costs an mmap, mprotect and munmap (and a TLB
/// shootdown across the threads), more than a signature's arithmetic, so per-request
/// temporaries go here, as libsodium keeps its own.
public func withSecretScratch<R: ~Copyable, E: Error>(byteCount: Int, _ body: (UnsafeMutableRawBufferPointer) throws(E) -> R) throws(E) -> R {
    try withUnsafeTemporaryAllocation(byteCount: max(byteCount, 1), alignment: 16) { (raw) throws(E) -> R in
        let buffer = UnsafeMutableRawBufferPointer(rebasing: raw[0..<byteCount])
        sodium_memzero(raw.baseAddress!, raw.count)
        defer { sodium_memzero(raw.baseAddress!, raw.count) }
        return try body(buffer)
    }
}
