#if canImport(Glibc)
import Glibc
import SecmodBase
#endif

/// `RLIMIT_NOFILE`: how many descriptors the process may hold. Every session holds one, so
/// a helper that kept systemd's soft limit (1024) would run out long before MAX_SESSIONS.
public enum DescriptorLimit {
    /// Raises the soft limit to the hard limit; returns the limit now in force.
    @discardableResult
    public static func raiseToHardLimit() throws(SecmodError) -> Int {
        var limit = rlimit()
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        if getrlimit(resource, &limit) != 0 { throw Errno.current.error("getrlimit(RLIMIT_NOFILE)") }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            if setrlimit(resource, &limit) != 0 { throw Errno.current.error("setrlimit(RLIMIT_NOFILE)") }
        }
        return Int(clamping: limit.rlim_cur)  // RLIM_INFINITY is the largest value: no cap
    }

    /// Descriptors open now (entries of /proc/self/fd, less the one that lists them).
    public static func openCount() -> Int {
        ((try? FileSystem.listDirectory("/proc/self/fd").count) ?? 1) - 1
    }
}
