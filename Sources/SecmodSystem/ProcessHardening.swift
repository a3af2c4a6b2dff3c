internal import CSecmodShim
#if canImport(Glibc)
import Glibc
import SecmodBase
#endif

/// What a helper does to itself before it touches a key: no core dumps (`RLIMIT_CORE` 0)
/// and not dumpable (`PR_SET_DUMPABLE` 0), so that neither a crash nor another process of
/// the same user — ptrace, /proc/<pid>/mem — can copy key material out of its memory.
///
/// `coredump_filter` 0 is for the one case the other two miss: a system with
/// `fs.suid_dumpable = 2` and a pipe `core_pattern` still dumps a non-dumpable process, and
/// ignores RLIMIT_CORE. With the filter at 0 such a dump holds no anonymous memory, where
/// the keys live. It is written first: once the process is not dumpable, its /proc files
/// belong to root and it can no longer write them itself.
public enum ProcessHardening {
    public static func apply() throws(SecmodError) {
        try writeCoredumpFilter(0)
        var none = rlimit(rlim_cur: 0, rlim_max: 0)
        if setrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &none) != 0 { throw Errno.current.error("setrlimit(RLIMIT_CORE, 0)") }
        if secmod_set_dumpable(0) != 0 { throw Errno.current.error("prctl(PR_SET_DUMPABLE, 0)") }
    }

    private static func writeCoredumpFilter(_ value: Int) throws(SecmodError) {
        let fd = open("/proc/self/coredump_filter", O_WRONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return }  // no /proc: RLIMIT_CORE and non-dumpable still hold
            throw Errno.current.error("opening /proc/self/coredump_filter")
        }
        defer { close(fd) }
        var text = Array(String(value).utf8)
        let n = text.withUnsafeMutableBytes { write(fd, $0.baseAddress, $0.count) }
        if n != text.count { throw Errno.current.error("writing /proc/self/coredump_filter") }
    }
}
