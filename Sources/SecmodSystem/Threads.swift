#if canImport(Glibc)
import Glibc
#endif
internal import CSecmodShim
import SecmodBase

/// Starts a detached-by-default OS thread running `body`.
///
/// The body travels through `Unmanaged` because `pthread_create` takes a C function with no
/// captures. Returns the thread so that callers who must wait for it can `join` it.
public struct OSThread: Sendable {
    private let handle: pthread_t

    private final class Box: @unchecked Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    public static func start(name: String, _ body: @escaping @Sendable () -> Void) throws(SecmodError) -> OSThread {
        let threadName = String(name.prefix(15))
        let box = Unmanaged.passRetained(Box({
            _ = threadName.withCString { secmod_set_thread_name($0) }
            body()
        }))
        var handle = pthread_t()
        let rc = pthread_create(&handle, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            box.body()
            return nil
        }, box.toOpaque())
        if rc != 0 {
            box.release()
            throw Errno(rc).error("starting thread \(name)")
        }
        return OSThread(handle: handle)
    }

    public func join() { pthread_join(handle, nil) }

    /// Lets the thread's resources go when it ends, for a thread nobody will join: every
    /// thread is either joined or detached, so none leaks.
    public func detach() { pthread_detach(handle) }

    /// The calling thread's identity, to check in debug builds that state owned by one
    /// thread is touched only there.
    public static var currentID: UInt { UInt(pthread_self()) }

    /// The number of CPUs this process may run on: the default worker count.
    public static var availableProcessors: Int {
        let n = sysconf(Int32(_SC_NPROCESSORS_ONLN))
        return n > 0 ? n : 1
    }
}

extension OSThread {
    /// Lowers the calling thread's CPU priority, so that background work such as RSA key
    /// generation yields to signing. Best effort: failure changes nothing else.
    public static func lowerCurrentPriority(by nice: Int32) {
        _ = secmod_set_thread_nice(nice)
    }
}
