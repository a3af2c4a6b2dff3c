import SecmodBase
import SecmodSystem
#if canImport(Glibc)
import Glibc
#endif

/// The start-up check that the key store is the helper's alone. A key directory another
/// user owns, or one that group or others may enter, means someone else could have read
/// or planted keys: the helper stops and names the file and the fix, rather than serve
/// keys whose secrecy it cannot vouch for.
public enum PrivateStorage {
    /// Checks `path` if it exists (a missing one is created private later). `what` names
    /// the configuration option in the message, e.g. "KEY_DIR".
    public static func check(_ path: String, what: String, owner: UInt32 = UInt32(geteuid())) throws(SecmodError) {
        let st: FileStatus
        do throws(Errno) { st = try FileSystem.status(path, followLinks: false) } catch {
            if error == .noEntry { return }
            throw error.error("\(what) \(path)", code: .permission)
        }
        if st.isSymbolicLink {
            throw SecmodError(.permission, "\(what) \(path) is a symbolic link; point \(what) at the real path so that its owner and mode can be checked")
        }
        guard st.uid == owner else {
            throw SecmodError(.permission, "\(what) \(path) is owned by uid \(st.uid), not by this helper's user (uid \(owner)). If nobody else could have read it, run 'chown -R \(UserDatabase.describe(uid: owner)) \(path)' and start the helper again as that user")
        }
        guard st.permissions & 0o077 == 0 else {
            if st.isDirectory {
                throw SecmodError(.permission, "\(what) \(path) has mode \(octalMode(st.permissions)): group or others may list or change it. Run 'chmod 0700 \(path)'. (Taler's own helpers create it 0755; their key files are 0400, so a directory others could only list did not expose keys.)")
            }
            throw SecmodError(.permission, "\(what) \(path) has mode \(octalMode(st.permissions)): group or others may access it. Run 'chmod 0400 \(path)' if nobody else could have read it; otherwise treat the key as compromised")
        }
    }
}
