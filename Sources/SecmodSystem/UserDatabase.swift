#if canImport(Glibc)
import Glibc
#endif

/// Lookups in the user and group databases (NSS), for configuration that names users and
/// groups and for messages that should name them. The reentrant `_r` calls are used so that
/// a lookup on one thread never clobbers another's result.
public enum UserDatabase {
    public struct User: Sendable, Equatable {
        public let name: String
        public let uid: UInt32
        public let gid: UInt32
    }

    public struct Group: Sendable, Equatable {
        public let name: String
        public let gid: UInt32
        /// The users listed as members; users whose primary group it is are not listed.
        public let members: [String]
    }

    public static func user(named name: String) -> User? {
        lookupUser { entry, buffer, result in getpwnam_r(name, &entry, buffer.baseAddress!, buffer.count, &result) }
    }

    public static func user(id uid: UInt32) -> User? {
        lookupUser { entry, buffer, result in getpwuid_r(uid_t(uid), &entry, buffer.baseAddress!, buffer.count, &result) }
    }

    public static func group(named name: String) -> Group? {
        var entry = Glibc.group()
        var result: UnsafeMutablePointer<Glibc.group>?
        return withBuffer { buffer in
            guard getgrnam_r(name, &entry, buffer.baseAddress!, buffer.count, &result) == 0, result != nil else { return nil }
            var members: [String] = []
            if var cursor = entry.gr_mem {
                while let member = cursor.pointee {
                    members.append(String(cString: member))
                    cursor += 1
                }
            }
            return Group(name: String(cString: entry.gr_name), gid: UInt32(entry.gr_gid), members: members)
        }
    }

    /// A user's name, or the number when the database has no entry (containers often lack one).
    public static func describe(uid: UInt32) -> String { user(id: uid)?.name ?? String(uid) }

    private static func lookupUser(
        _ call: (inout passwd, UnsafeMutableBufferPointer<CChar>, inout UnsafeMutablePointer<passwd>?) -> Int32
    ) -> User? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        return withBuffer { buffer in
            guard call(&entry, buffer, &result) == 0, result != nil else { return nil }
            return User(name: String(cString: entry.pw_name), uid: UInt32(entry.pw_uid), gid: UInt32(entry.pw_gid))
        }
    }

    /// NSS entries are small; 64 KiB fits any sane group list.
    private static func withBuffer<T>(_ body: (UnsafeMutableBufferPointer<CChar>) -> T?) -> T? {
        var storage = [CChar](repeating: 0, count: 65536)
        return storage.withUnsafeMutableBufferPointer { body($0) }
    }
}
