#if canImport(Glibc)
import Glibc
import SecmodBase
#endif

/// The rule both sides of a helper socket apply to the directories above it: whoever can
/// write a directory on the way to the socket can rename the socket's directory away and
/// put their own in its place, so an impostor would receive the exchange's requests
/// (dgram-transport.md, "The socket's directory").
///
/// - The socket's own directory must be a real directory (no symlink), owned by root or by
///   `owner`, and writable by neither group nor others.
/// - Every directory above it (after resolving symlinks) must be owned by root or `owner`,
///   and may be writable by group or others only with the sticky bit set, as `/tmp` is:
///   there nobody can rename or remove an entry they do not own.
/// - Every symlink on the path as written must be owned by root or `owner`: its owner can
///   point it elsewhere at any time.
///
/// The transport spec names only the socket's own directory; the ancestors are checked too
/// because they allow the same substitution (the safer reading, stated in the docs).
public enum SocketDirectory {
    /// Checks the directories that hold `socketPath`. `owner` is the helper's uid (the
    /// helper's start-up check) or the socket file's owner (a client's check). `what` names
    /// the setting in the message, e.g. "UNIXPATH".
    public static func check(socketPath: String, owner: UInt32, what: String = "UNIXPATH") throws(SecmodError) {
        let parent = FileSystem.directoryName(of: socketPath)
        let st: FileStatus
        do throws(Errno) { st = try FileSystem.status(parent, followLinks: false) } catch {
            throw error.error("\(what) directory \(parent)", code: .permission)
        }
        if st.isSymbolicLink {
            throw SecmodError(.permission, "\(what) directory \(parent) is a symbolic link; point \(what) at the real directory so that its owner and mode can be checked")
        }
        guard st.isDirectory else { throw SecmodError(.permission, "\(what) directory \(parent) is not a directory") }
        try checkOwner(st, parent, owner: owner, what: what)
        guard st.permissions & 0o022 == 0 else {
            throw SecmodError(.permission, "\(what) directory \(parent) has mode \(octalMode(st.permissions)): group or others could replace the socket. Run 'chmod go-w \(parent)'")
        }
        guard let real = FileSystem.resolvedPath(parent) else {
            throw Errno.current.error("resolving \(what) directory \(parent)", code: .permission)
        }
        // The path as written: a symlink on the way is as good as its owner, who may point
        // it elsewhere (in a sticky directory too), so it must be root's or `owner`'s.
        if parent.hasPrefix("/") {
            var component = FileSystem.directoryName(of: parent)
            while component != "/" {
                let c: FileStatus
                do throws(Errno) { c = try FileSystem.status(component, followLinks: false) } catch {
                    throw error.error("\(what) ancestor \(component)", code: .permission)
                }
                if c.isSymbolicLink { try checkOwner(c, component, owner: owner, what: what) }
                component = FileSystem.directoryName(of: component)
            }
        }
        // The directories it leads to, symlinks resolved.
        var ancestor = FileSystem.directoryName(of: real)
        while true {
            let a: FileStatus
            do throws(Errno) { a = try FileSystem.status(ancestor, followLinks: false) } catch {
                throw error.error("\(what) ancestor \(ancestor)", code: .permission)
            }
            try checkOwner(a, ancestor, owner: owner, what: what)
            if a.permissions & 0o022 != 0 && a.permissions & 0o1000 == 0 {
                throw SecmodError(.permission, "\(ancestor), above \(what), has mode \(octalMode(a.permissions)) without the sticky bit: group or others could rename the socket's directory. Run 'chmod go-w \(ancestor)' (or 'chmod +t' for a shared directory like /tmp)")
            }
            if ancestor == "/" { return }
            ancestor = FileSystem.directoryName(of: ancestor)
        }
    }

    private static func checkOwner(_ st: FileStatus, _ path: String, owner: UInt32, what: String) throws(SecmodError) {
        guard st.uid == 0 || st.uid == owner else {
            throw SecmodError(.permission, "\(path), which holds \(what), is owned by uid \(st.uid): only root or uid \(owner) may own it, or that user could replace the socket. Run 'chown \(UserDatabase.describe(uid: owner)) \(path)'")
        }
    }
}
