import SecmodBase
import SecmodSystem
#if canImport(Glibc)
import Glibc
#endif

/// The start-up check that the key store is the helper's alone. A key directory another
/// user owns, or one others may change, means someone else could have read or planted
/// keys: the helper stops and names every such file and its fix, rather than serve keys
/// whose secrecy it cannot vouch for.
///
/// One thing it fixes itself: a directory it owns that group or others may only list or
/// enter (Taler's C helpers create theirs 0750 under umask 0027). The key files in it are
/// 0400, so nothing was exposed; the helper tightens it to 0700 and says so.
public enum PrivateStorage {
    /// What an inspection found: modes it may tighten, and problems only the operator can fix.
    public struct Report: Sendable, Equatable {
        /// Directories this user owns whose group or others bits allow no writing: set to 0700.
        public var tighten: [(path: String, mode: UInt32)] = []
        /// One line per problem, each naming the path and the fix.
        public var problems: [String] = []

        public init() {}

        public static func == (a: Report, b: Report) -> Bool {
            a.problems == b.problems && a.tighten.map(\.path) == b.tighten.map(\.path) && a.tighten.map(\.mode) == b.tighten.map(\.mode)
        }

        public var isClean: Bool { tighten.isEmpty && problems.isEmpty }
    }

    /// Inspects a directory the helper keeps private (KEY_DIR, a denomination's directory,
    /// AUDIT_DIR) and, when `keyFiles` is given, the key files in it: regular files named by
    /// an anchor whose size `keyFiles` finds plausible (the loader skips anything else with a
    /// log line, and never serves it). A missing directory is fine (it is created 0700 later).
    public static func inspectDirectory(_ path: String, what: String, keyFiles: ((Int64) -> Bool)?, owner: UInt32,
                                        into report: inout Report) {
        guard let st = ownedEntry(path, what: what, directory: true, owner: owner, into: &report) else { return }
        if st.permissions & 0o022 != 0 {
            report.problems.append("\(what) \(path) has mode \(octalMode(st.permissions)): group or others may add, replace or delete files in it, so a key in it may not be ours. Check its files, then run 'chmod 0700 \(path)'")
        } else if st.permissions & 0o077 != 0 {
            report.tighten.append((path, st.permissions))
        }
        guard let plausible = keyFiles, let names = try? FileSystem.listDirectory(path) else { return }
        for name in names.sorted() where KeyDirectory.anchorSeconds(name) != nil {
            let full = path + "/" + name
            guard let st = try? FileSystem.status(full, followLinks: false), st.isRegularFile, plausible(st.size) else { continue }
            inspectSecretFile(full, what: "key file", owner: owner, into: &report)
        }
    }

    /// Inspects a secret file (a key file, SM_PRIV_KEY): ours, and readable by nobody else.
    /// A missing file is fine.
    public static func inspectSecretFile(_ path: String, what: String, owner: UInt32, into report: inout Report) {
        guard let st = ownedEntry(path, what: what, directory: false, owner: owner, into: &report) else { return }
        if st.permissions & 0o077 != 0 {
            report.problems.append("\(what) \(path) has mode \(octalMode(st.permissions)): group or others may access it. Run 'chmod 0400 \(path)' if nobody else could have read it; otherwise treat the key as compromised")
        }
    }

    /// The checks a directory and a secret file share: the entry is absent (fine, nil), or it
    /// is not a symbolic link, is of the expected type and belongs to `owner`; otherwise the
    /// problem is recorded and nil returned. Its status, for the mode checks, when it passes.
    private static func ownedEntry(_ path: String, what: String, directory: Bool, owner: UInt32,
                                   into report: inout Report) -> FileStatus? {
        let st: FileStatus
        do throws(Errno) { st = try FileSystem.status(path, followLinks: false) } catch {
            if error != .noEntry { report.problems.append("\(what) \(path): cannot inspect it: \(error)") }
            return nil
        }
        if st.isSymbolicLink {
            report.problems.append("\(what) \(path) is a symbolic link; point \(what) at the real path so that its owner and mode can be checked")
            return nil
        }
        guard directory ? st.isDirectory : st.isRegularFile else {
            report.problems.append("\(what) \(path) is not a \(directory ? "directory" : "regular file")")
            return nil
        }
        guard st.uid == owner else {
            report.problems.append("\(what) \(path) is owned by uid \(st.uid), not by the helper's user (uid \(owner)): someone else could have changed or read it. If nobody could have, run 'chown \(directory ? "-R " : "")\(UserDatabase.describe(uid: owner)) \(path)'")
            return nil
        }
        return st
    }

    /// Applies a report: throws `.permission` listing every problem at once; otherwise
    /// tightens the directories it may and returns one line per change, for the log.
    public static func apply(_ report: Report) throws(SecmodError) -> [String] {
        if !report.problems.isEmpty {
            let list = report.problems.enumerated().map { "(\($0.offset + 1)) \($0.element)" }.joined(separator: "; ")
            throw SecmodError(.permission, "the key store is not this helper's alone (\(report.problems.count) problem\(report.problems.count == 1 ? "" : "s")): \(list)")
        }
        var lines: [String] = []
        for (path, mode) in report.tighten {
            do throws(Errno) { try FileSystem.changeMode(path, 0o700) } catch {
                throw error.error("chmod 0700 \(path)", code: .permission)
            }
            lines.append("tightened \(path) from \(octalMode(mode)) to 0700 (group or others could list it, but not read its 0400 key files)")
        }
        return lines
    }

    /// Checks one path alone (SM_PRIV_KEY as it is read); throws on any problem.
    public static func check(_ path: String, what: String, owner: UInt32 = UInt32(geteuid())) throws(SecmodError) {
        var report = Report()
        inspectSecretFile(path, what: what, owner: owner, into: &report)
        _ = try apply(report)
    }
}
