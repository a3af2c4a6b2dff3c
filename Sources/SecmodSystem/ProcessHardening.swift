import CSecmodShim
#if canImport(Glibc)
import Glibc
#endif

/// What a helper does to itself before it touches a key: no core dumps (`RLIMIT_CORE` 0)
/// and not dumpable (`PR_SET_DUMPABLE` 0), so that neither a crash nor another process of
/// the same user — ptrace, /proc/<pid>/mem — can copy key material out of its memory.
public enum ProcessHardening {
    public static func apply() throws(SecmodError) {
        var none = rlimit(rlim_cur: 0, rlim_max: 0)
        if setrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &none) != 0 { throw Errno.current.error("setrlimit(RLIMIT_CORE, 0)") }
        if secmod_set_dumpable(0) != 0 { throw Errno.current.error("prctl(PR_SET_DUMPABLE, 0)") }
    }

    public static var isDumpable: Bool { secmod_get_dumpable() != 0 }
}
