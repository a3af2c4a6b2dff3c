#if canImport(Glibc)
import Glibc
import SecmodBase
#endif

/// Whether this process may lock memory: secrets live in locked pages (libsodium's guarded
/// allocations, libgcrypt's secure pool), and both libraries carry on unlocked when `mlock`
/// fails, libsodium silently. A helper checks at start and says what to change.
public enum MemoryLocking {
    /// Locks and unlocks `bytes` of fresh anonymous memory: nil when that worked, else why not
    /// (`EPERM`/`ENOMEM`: `RLIMIT_MEMLOCK` too low and no `CAP_IPC_LOCK`).
    public static func probe(bytes: Int) -> Errno? {
        let size = max(bytes, 4096)
        guard let region = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              region != MAP_FAILED else { return Errno.current }
        defer { munmap(region, size) }
        if mlock(region, size) != 0 { return Errno.current }
        munlock(region, size)
        return nil
    }

    /// The soft `RLIMIT_MEMLOCK` in bytes, nil when unlimited.
    public static var softLimit: UInt64? {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(__RLIMIT_MEMLOCK.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max else { return nil }
        return UInt64(limit.rlim_cur)
    }
}
