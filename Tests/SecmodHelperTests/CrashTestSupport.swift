import Foundation
import SecmodBase
import SecmodClient
import SecmodCrypto
import SecmodKeys
import SecmodSystem
import SecmodWire
import Testing
#if canImport(Glibc)
import Glibc
#endif

// Shared pieces of CrashLoopTests and DiskFaultTests (crash and disk-fault safety): a seeded random
// generator, a client that speaks to either helper, a reader for key directories, a tiny tmpfs
// and a log cursor.

/// SplitMix64: small, fast and reproducible from a printed seed.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

/// Wall-clock microseconds, the helpers' clock for anchors and expiry.
func wallMicroseconds() -> UInt64 { Clock.wallMicroseconds() }

/// A key as a client saw it announced, for either helper.
struct SeenKey: Hashable {
    /// EdDSA: the public key; RSA: h_rsa.
    let id: [UInt8]
    /// RSA: the denomination section; EdDSA: "".
    let section: String
    let anchorSeconds: UInt64
    /// Wall-clock µs at which the helper stops announcing it.
    let expiresAt: UInt64
    let moduleKey: [UInt8]

    var label: String { section.isEmpty ? "\(anchorSeconds)" : "\(section)/\(anchorSeconds)" }
    var shortID: String { hexString(Array(id.prefix(6))) }
}

enum SeenEvent {
    case available(SeenKey)
    case purged([UInt8])
}

/// Which helper a crash loop or a disk-fault test drives.
enum HelperFamily {
    case eddsa, rsa, cs

    init(_ kind: HelperProcess.Kind) {
        switch kind {
        case .eddsa: self = .eddsa
        case .rsa: self = .rsa
        case .cs: self = .cs
        }
    }

    /// Keys live in one directory per denomination section.
    var sectioned: Bool { self != .eddsa }
}

/// The EdDSA, RSA or CS client behind one interface, so that one crash loop drives all.
final class AnyHelperClient {
    private enum Inner {
        case eddsa(EddsaHelperClient)
        case rsa(RsaHelperClient)
        case cs(CsHelperClient)
    }

    private let inner: Inner

    init(family: HelperFamily, socketPath: String) {
        switch family {
        case .eddsa: inner = .eddsa(EddsaHelperClient(socketPath: socketPath))
        case .rsa: inner = .rsa(RsaHelperClient(socketPath: socketPath))
        case .cs: inner = .cs(CsHelperClient(socketPath: socketPath))
        }
    }

    convenience init(_ helper: HelperProcess) {
        self.init(family: HelperFamily(helper.kind), socketPath: helper.socketPath)
    }

    static func seen(_ k: CsDenominationKey) -> SeenKey {
        SeenKey(id: k.hash, section: k.section, anchorSeconds: k.anchor.seconds,
                expiresAt: k.anchor.microseconds &+ k.durationWithdraw.microseconds, moduleKey: k.securityModulePublicKey)
    }

    static func seen(_ k: EddsaSigningKey) -> SeenKey {
        SeenKey(id: k.publicKey, section: "", anchorSeconds: k.anchor.seconds,
                expiresAt: k.anchor.microseconds &+ k.duration.microseconds, moduleKey: k.securityModulePublicKey)
    }

    static func seen(_ k: RsaDenominationKey) -> SeenKey {
        SeenKey(id: k.hash, section: k.section, anchorSeconds: k.anchor.seconds,
                expiresAt: k.anchor.microseconds &+ k.durationWithdraw.microseconds, moduleKey: k.securityModulePublicKey)
    }

    func connect(timeout: Duration) throws {
        switch inner {
        case let .eddsa(c): try c.connect(timeout: timeout)
        case let .rsa(c): try c.connect(timeout: timeout)
        case let .cs(c): try c.connect(timeout: timeout)
        }
    }

    var keys: [SeenKey] {
        switch inner {
        case let .eddsa(c): c.keys.map(Self.seen)
        case let .rsa(c): c.keys.map(Self.seen)
        case let .cs(c): c.keys.map(Self.seen)
        }
    }

    /// Called for every AVAIL and PURGE (also those of a handshake's dump).
    var onEvent: ((SeenEvent) -> Void)? {
        didSet {
            let handler = onEvent
            switch inner {
            case let .eddsa(c):
                c.onKeyEvent = handler.map { h in
                    { event in
                        switch event {
                        case let .available(k): h(.available(Self.seen(k)))
                        case let .purged(id): h(.purged(id))
                        }
                    }
                }
            case let .rsa(c):
                c.onKeyEvent = handler.map { h in
                    { event in
                        switch event {
                        case let .available(k): h(.available(Self.seen(k)))
                        case let .purged(id): h(.purged(id))
                        }
                    }
                }
            case let .cs(c):
                c.onKeyEvent = handler.map { h in
                    { event in
                        switch event {
                        case let .available(k): h(.available(Self.seen(k)))
                        case let .purged(id): h(.purged(id))
                        }
                    }
                }
            }
        }
    }

    func revoke(_ id: [UInt8]) throws {
        switch inner {
        case let .eddsa(c): try c.revoke(publicKey: id)
        case let .rsa(c): try c.revoke(hash: id)
        case let .cs(c): try c.revoke(hash: id)
        }
    }

    func waitForEvents(for duration: Duration) throws {
        switch inner {
        case let .eddsa(c): try c.waitForEvents(for: duration)
        case let .rsa(c): try c.waitForEvents(for: duration)
        case let .cs(c): try c.waitForEvents(for: duration)
        }
    }

    func poll() throws {
        switch inner {
        case let .eddsa(c): try c.poll()
        case let .rsa(c): try c.poll()
        case let .cs(c): try c.poll()
        }
    }

    func disconnect() {
        switch inner {
        case let .eddsa(c): c.disconnect()
        case let .rsa(c): c.disconnect()
        case let .cs(c): c.disconnect()
        }
    }

    /// Signs once with a key valid now and checks the signature; returns the id of the key
    /// that signed. RSA: `section` picks the denomination (nil: any).
    @discardableResult
    func signOnce(timeout: Duration, section: String? = nil) throws -> [UInt8] {
        switch inner {
        case let .eddsa(c):
            let purpose = EddsaSignRequest.purposeBytes(purpose: 0, body: Array("crash safety \(UInt32.random(in: 0...UInt32.max))".utf8))
            let (pub, sig) = try c.sign(purposeBytes: purpose, timeout: timeout)
            guard Ed25519.verify(signature: sig, message: purpose, publicKey: pub) else {
                throw HelperTestError("an EdDSA signature did not verify")
            }
            return pub
        case let .rsa(c):
            let now = wallMicroseconds()
            guard let key = c.keys.last(where: {
                (section == nil || $0.section == section) && $0.anchor.microseconds <= now
                    && now + 200_000 < $0.anchor.microseconds &+ $0.durationWithdraw.microseconds
            }) else { throw HelperTestError("no RSA key valid now\(section.map { " in \($0)" } ?? "")") }
            let pub = try RsaPublicKey(encoded: key.publicKey)
            var m = randomBytes(pub.modulus.count)
            m[0] = m[0] % max(pub.modulus[0], 1)  // keeps m < n
            if m.allSatisfy({ $0 == 0 }) { m[m.count - 1] = 1 }
            let s = try c.sign(hash: key.hash, blindedMessage: m, timeout: timeout)
            guard pub.verifyRaw(signature: s, message: m) else { throw HelperTestError("an RSA signature did not verify") }
            return key.hash
        case let .cs(c):
            let now = wallMicroseconds()
            guard let key = c.keys.last(where: {
                (section == nil || $0.section == section) && $0.anchor.microseconds <= now
                    && now + 200_000 < $0.anchor.microseconds &+ $0.durationWithdraw.microseconds
            }) else { throw HelperTestError("no CS key valid now\(section.map { " in \($0)" } ?? "")") }
            // Both round trips of a withdrawal; the client checks s·B = R_b + c_b·X.
            let nonce = randomBytes(32)
            let r = try c.derive(hash: key.hash, nonce: nonce, timeout: timeout)
            _ = try c.sign(CsSignItem(hash: key.hash, nonce: nonce, challenges: randomBytes(64), publicNonces: r), timeout: timeout)
            return key.hash
        }
    }
}

/// One entry of a key directory, as `ls -l` would show it.
struct KeyFileEntry {
    /// RSA: the section subdirectory; EdDSA (and anything directly in an RSA KEY_DIR): "".
    let section: String
    let name: String
    let path: String
    let size: Int64
    let mode: UInt32
    let inode: UInt64
    let isRegularFile: Bool

    /// The temporary file of a write in progress (`.<anchor>.tmp-<hex>`).
    var isTemporary: Bool { FileSystem.isTemporaryName(name) }
    var anchorSeconds: UInt64? {
        guard !name.isEmpty, name.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return UInt64(name)
    }
    var label: String { section.isEmpty ? name : "\(section)/\(name)" }
}

/// Reads key directories and parses key files the way the helpers do, independently.
final class KeyFileReader {
    enum Parsed {
        case key([UInt8])
        /// Deleted between listing and reading (an expired key).
        case vanished
        case bad(String)
    }

    let family: HelperFamily
    private var cache: [[UInt8]: [UInt8]] = [:]
    /// The token references `parse` read, by path (for a helper whose keys are in a token).
    var references: [String: KeyReference] = [:]

    init(family: HelperFamily) { self.family = family }

    /// Every entry of KEY_DIR (EdDSA) or of its section subdirectories (RSA). For RSA,
    /// entries directly in KEY_DIR that are not directories are listed with section "".
    func list(_ keyDirectory: String) -> [KeyFileEntry] {
        if !family.sectioned { return Self.entries(keyDirectory, section: "") }
        var out: [KeyFileEntry] = []
        for top in Self.entries(keyDirectory, section: "") {
            if top.mode & UInt32(S_IFMT) == UInt32(S_IFDIR) {
                out += Self.entries(top.path, section: top.name)
            } else {
                out.append(top)
            }
        }
        return out
    }

    static func entries(_ directory: String, section: String) -> [KeyFileEntry] {
        guard let names = try? FileSystem.listDirectory(directory) else { return [] }
        // The helper's lock file (one helper per key store) is not a key.
        return names.sorted().filter { $0 != KeyDirectory.lockFileName }.compactMap { name in
            let path = directory + "/" + name
            var st = stat()
            guard lstat(path, &st) == 0 else { return nil }  // gone since the listing
            return KeyFileEntry(section: section, name: name, path: path, size: Int64(st.st_size), mode: UInt32(st.st_mode),
                                inode: UInt64(st.st_ino), isRegularFile: UInt32(st.st_mode) & UInt32(S_IFMT) == UInt32(S_IFREG))
        }
    }

    /// The key a file holds (its public key or h_rsa), or why it is no key.
    func parse(_ entry: KeyFileEntry) -> Parsed {
        guard entry.isRegularFile else { return .bad("not a regular file") }
        guard let data = FileManager.default.contents(atPath: entry.path) else {
            return FileManager.default.fileExists(atPath: entry.path) ? .bad("unreadable") : .vanished
        }
        let bytes = [UInt8](data)
        if bytes.isEmpty { return .bad("zero-length file") }
        // By content: a replaced file may reuse the old one's inode, name and size.
        let cacheKey = SHA512.hash(bytes)
        if let id = cache[cacheKey] { return .key(id) }
        // A key in a token: the reference names it by its public key.
        if bytes.starts(with: Array((KeyReference.magic + "\n").utf8)) {
            do {
                let reference = try bytes.withUnsafeBytes { b throws(SecmodError) in try KeyReference(parsing: b, path: entry.path) }
                let id = family == .rsa ? try RsaPublicKey(encoded: reference.publicKey).hash : reference.publicKey
                cache[cacheKey] = id
                references[entry.path] = reference
                return .key(id)
            } catch {
                return .bad("reference does not parse: \(error)")
            }
        }
        var secure = SecureBytes(count: bytes.count)
        secure.withUnsafeMutableBytes { dst in bytes.withUnsafeBytes { dst.copyMemory(from: $0) } }
        do {
            let id: [UInt8]
            switch family {
            case .rsa:
                id = try RsaPrivateKey(keyFile: secure, engine: .openssl).publicKey.hash
            case .cs:
                guard bytes.count == ClauseSchnorrKey.scalarByteCount else { return .bad("\(bytes.count) bytes, not 32") }
                id = SHA512.hash(try ClauseSchnorrKey(scalar: secure).publicKey)
            case .eddsa:
                guard bytes.count == Ed25519PrivateKey.seedByteCount else { return .bad("\(bytes.count) bytes, not 32") }
                id = try Ed25519PrivateKey(seed: secure).publicKey
            }
            cache[cacheKey] = id
            return .key(id)
        } catch {
            return .bad("does not parse: \(error)")
        }
    }
}

/// Reads a log file from where it last stopped, so that loops over a fast-growing log
/// (a helper that fails in a loop writes megabytes) stay cheap.
final class LogCursor {
    let path: String
    private(set) var offset: UInt64 = 0
    private var partial = ""

    init(path: String, fromEnd: Bool = false) {
        self.path = path
        if fromEnd, let st = try? FileSystem.status(path) { offset = UInt64(st.size) }
    }

    /// Complete lines written since the last call.
    func newLines() -> [String] {
        guard let handle = FileHandle(forReadingAtPath: path) else { return [] }
        defer { try? handle.close() }
        try? handle.seek(toOffset: offset)
        let data = (try? handle.readToEnd()) ?? Data()
        offset += UInt64(data.count)
        let text = partial + String(decoding: data, as: UTF8.self)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        partial = lines.removeLast()
        return lines
    }

    /// Waits until a new line satisfies `predicate`; returns it, or nil at the deadline.
    /// Lines read while waiting are passed to `seen` too.
    func waitFor(seconds: Double, seen: (String) -> Void = { _ in }, _ predicate: (String) -> Bool) -> String? {
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            for line in newLines() {
                seen(line)
                if predicate(line) { return line }
            }
            usleep(20_000)
        } while Date() < deadline
        return nil
    }
}


/// A tmpfs of a few pages: a real ENOSPC. Root only; unmounted by `unmount` or at deinit.
final class TinyTmpfs {
    let path: String
    private(set) var mounted = false

    init(at path: String, bytes: Int) throws {
        self.path = path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let r = GnunetReferee.run("/bin/sh", ["-c", "mount -t tmpfs -o size=\(bytes),mode=0700 secmod-test-tmpfs '\(path)'"])
        guard r.status == 0 else { throw HelperTestError("mount -t tmpfs on \(path) failed (status \(r.status)): \(r.output)") }
        mounted = true
    }

    deinit { unmount() }

    func unmount() {
        guard mounted else { return }
        if GnunetReferee.run("/bin/sh", ["-c", "umount '\(path)'"]).status != 0 {
            _ = GnunetReferee.run("/bin/sh", ["-c", "umount -l '\(path)'"])
        }
        mounted = false
    }

    /// Writes `file` until the file system is full; returns the errno text that stopped it.
    func fill(_ file: String) -> String {
        let fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return "open: \(Errno.current)" }
        defer { close(fd) }
        let block = [UInt8](repeating: 0x5a, count: 4096)
        while true {
            let n = block.withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
            if n < 0 { return "\(Errno.current)" }
            if n < block.count {
                // A short write: the next one reports the reason.
                continue
            }
        }
    }

    var freeBytes: UInt64 {
        var s = statvfs()
        guard statvfs(path, &s) == 0 else { return 0 }
        return UInt64(s.f_bavail) * UInt64(s.f_frsize)
    }
}
