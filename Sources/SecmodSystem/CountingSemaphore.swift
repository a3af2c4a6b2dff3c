#if canImport(Glibc)
import Glibc
#endif

/// An unnamed POSIX semaphore that feeds the worker pool: one post per queued job.
///
/// The `sem_t` lives on the heap: a `sem_t` in a Swift stored property may move, and
/// `&local` pointers are only valid for the duration of one call.
public final class CountingSemaphore: @unchecked Sendable {
    private let semaphore: UnsafeMutablePointer<sem_t>

    public init(initial: UInt32 = 0) {
        semaphore = .allocate(capacity: 1)
        sem_init(semaphore, 0, initial)
    }

    deinit {
        sem_destroy(semaphore)
        semaphore.deallocate()
    }

    public func post() { sem_post(semaphore) }

    public func wait() {
        while sem_wait(semaphore) != 0 && errno == EINTR {}
    }

}
