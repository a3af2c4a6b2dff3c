#if canImport(Glibc)
import Glibc
#endif
internal import CSecmodShim
import SecmodBase

/// A child process the tests and the benchmark start (a helper, a probe): spawned with
/// `posix_spawn`, none of the parent's descriptors above 2 inherited, reaped by `wait`.
///
/// Not Foundation's `Process`, which on Linux lists /proc/self/fd to close descriptors in the
/// child and overflowed a buffer doing so with over a thousand open (found by ASan).
public final class ChildProcess {
    public let pid: Int32
    /// The raw wait status, once reaped.
    private var status: Int32?

    private init(pid: Int32) { self.pid = pid }

    /// Starts `path` with `arguments` (argv[0] is `path`) and `environment`, or this
    /// process's own environment with `overriding` replacing or adding variables.
    public static func spawn(_ path: String, arguments: [String], overriding: [String: String] = [:],
                             discardOutput: Bool = false) throws(SecmodError) -> ChildProcess {
        var variables = ProcessEnvironment.current
        variables.merge(overriding) { $1 }
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = variables.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for p in argv { free(p) }
            for p in envp { free(p) }
        }
        var pid: pid_t = 0
        let rc = argv.withUnsafeBufferPointer { a in
            envp.withUnsafeBufferPointer { e in secmod_spawn(&pid, path, a.baseAddress!, e.baseAddress!, discardOutput ? 1 : 0) }
        }
        guard rc == 0 else { throw Errno(rc).error("starting \(path)") }
        return ChildProcess(pid: pid)
    }

    /// The raw wait status if the child has exited, without blocking.
    public func poll() -> Int32? {
        if let status { return status }
        var raw: Int32 = 0
        guard waitpid(pid, &raw, WNOHANG) == pid else { return nil }
        status = raw
        return raw
    }

    public var isRunning: Bool { poll() == nil }

    /// Sends `signo` unless the child has been reaped (its pid may belong to another process).
    public func signal(_ signo: Int32) {
        if status == nil { kill(pid, signo) }
    }

    /// Waits for the child to exit; returns the raw wait status.
    @discardableResult
    public func wait() -> Int32 {
        if let status { return status }
        var raw: Int32 = 0
        while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
        status = raw
        return raw
    }

    /// The shell's view of a wait status: the exit code, or 128 + the signal.
    public static func exitCode(_ status: Int32) -> Int32 {
        status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    /// "exit 0", "exit 1" or "signal 9": WIFEXITED and friends are macros Swift cannot call.
    public static func describe(_ status: Int32) -> String {
        status & 0x7f == 0 ? "exit \((status >> 8) & 0xff)" : "signal \(status & 0x7f)"
    }
}
