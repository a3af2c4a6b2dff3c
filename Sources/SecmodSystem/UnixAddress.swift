internal import CSecmodShim
#if canImport(Glibc)
import Glibc
import SecmodBase
#endif

/// An AF_UNIX socket address: a path in the file system, or a name in the abstract
/// namespace (what autobind gives a socket with `SO_PASSCRED`).
public struct UnixAddress: Hashable, Sendable, CustomStringConvertible {
    /// The bytes of `sun_path` that the kernel reported, abstract names starting with NUL.
    public let pathBytes: [UInt8]

    /// The longest path `sun_path` holds with its terminating NUL. Longer paths are refused,
    /// never truncated: a truncated path would bind or reach a different socket.
    public static let maximumPathLength = 107

    public init(path: String) throws(SecmodError) {
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty, bytes.count <= UnixAddress.maximumPathLength else {
            throw SecmodError(.configValue,
                "socket path '\(path)' is \(bytes.count) bytes; AF_UNIX allows at most \(UnixAddress.maximumPathLength)")
        }
        guard !bytes.contains(0) else { throw SecmodError(.configValue, "socket path contains a NUL byte") }
        pathBytes = bytes
    }

    /// An address in the abstract namespace (no file), as autobind and systemd use.
    public init(abstract name: [UInt8]) {
        pathBytes = [0] + name.prefix(UnixAddress.maximumPathLength - 1)
    }

    init(_ raw: secmod_unix_address) {
        let count = Int(raw.length) - MemoryLayout<sa_family_t>.size
        var bytes = withUnsafeBytes(of: raw.address.sun_path) { Array($0.prefix(max(0, count))) }
        // A path address may include its terminating NUL in the length; an abstract one starts with NUL.
        if bytes.first != 0, let nul = bytes.firstIndex(of: 0) { bytes.removeSubrange(nul...) }
        pathBytes = bytes
    }

    var raw: secmod_unix_address {
        var raw = secmod_unix_address()
        raw.address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &raw.address.sun_path) { dest in
            for (i, b) in pathBytes.prefix(dest.count).enumerated() { dest[i] = b }
        }
        raw.length = socklen_t(MemoryLayout<sa_family_t>.size + pathBytes.count + (isAbstract ? 0 : 1))
        return raw
    }

    public var isAbstract: Bool { pathBytes.first == 0 }
    public var isUnnamed: Bool { pathBytes.isEmpty }

    public var description: String {
        if isAbstract { return "@" + String(decoding: pathBytes.dropFirst(), as: UTF8.self) }
        if isUnnamed { return "(unnamed)" }
        return String(decoding: pathBytes, as: UTF8.self)
    }
}

/// Who sent a datagram or opened a connection, as the kernel vouches for it.
public struct PeerCredentials: Hashable, Sendable, CustomStringConvertible {
    public let pid: Int32
    public let uid: UInt32
    public let gid: UInt32

    public init(pid: Int32, uid: UInt32, gid: UInt32) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
    }

    init?(_ raw: secmod_credentials) {
        guard raw.present != 0 else { return nil }
        pid = raw.pid
        uid = raw.uid
        gid = raw.gid
    }

    public var description: String { "pid \(pid) uid \(uid) gid \(gid)" }
}
