import SecmodSystem
#if canImport(Glibc)
import Glibc
#endif

/// Readings from /proc: where CPU time and sleeps go without perf. Per-thread figures come
/// from /proc/<pid>/task/<tid>/, because /proc/<pid>/status counts context switches of the
/// main thread only.
enum ProcFS {
    /// One thread's accumulated CPU time and context switches.
    struct ThreadSample: Sendable {
        let tid: Int32
        let name: String
        /// User plus system time, in seconds.
        var cpuSeconds: Double { userSeconds + systemSeconds }
        /// Time in its own code and libraries (signing, Swift) versus in the kernel (syscalls).
        let userSeconds: Double
        let systemSeconds: Double
        /// Times it went to sleep (waiting for I/O, a futex, poll).
        let voluntarySwitches: Int
        /// Times the scheduler took the CPU away from it.
        let involuntarySwitches: Int
    }

    static let ticksPerSecond = Double(max(1, sysconf(Int32(_SC_CLK_TCK))))

    /// Every thread of `pid`; threads that exit meanwhile are skipped.
    static func threads(of pid: Int32) -> [ThreadSample] {
        guard let tids = try? FileSystem.listDirectory("/proc/\(pid)/task") else { return [] }
        return tids.compactMap { Int32($0) }.sorted().compactMap { thread(pid: pid, tid: $0) }
    }

    static func thread(pid: Int32, tid: Int32) -> ThreadSample? {
        let base = "/proc/\(pid)/task/\(tid)"
        guard let stat = read(base + "/stat"), let status = read(base + "/status"),
              let (name, user, system) = parseStat(stat) else { return nil }
        return ThreadSample(tid: tid, name: name, userSeconds: user, systemSeconds: system,
                            voluntarySwitches: field("voluntary_ctxt_switches", in: status),
                            involuntarySwitches: field("nonvoluntary_ctxt_switches", in: status))
    }

    /// CPU seconds of the whole process (all threads, live and exited).
    static func processCPUSeconds(_ pid: Int32) -> Double {
        guard let stat = read("/proc/\(pid)/stat"), let (_, user, system) = parseStat(stat) else { return 0 }
        return user + system
    }

    /// Idle and total jiffies of the machine, from the first line of /proc/stat.
    static func systemTicks() -> (idle: Double, total: Double) {
        guard let text = read("/proc/stat"), let line = text.split(separator: "\n").first else { return (0, 0) }
        let values = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard values.count >= 5 else { return (0, 0) }
        // user nice system idle iowait irq softirq steal (guest is already in user)
        let total = values.prefix(8).reduce(0, +)
        return (values[3] + values[4], total)
    }

    /// Percentage of the machine's CPU time left idle over the next `seconds`: other load
    /// on these two cores (a parallel build) distorts every figure, so the bench reports it.
    static func idlePercent(overSeconds seconds: Double) -> Double {
        let first = systemTicks()
        Clock.sleep(microseconds: UInt64(seconds * 1e6))
        let last = systemTicks()
        let total = last.total - first.total
        return total > 0 ? (last.idle - first.idle) / total * 100 : 0
    }

    /// The comm name, utime and stime (seconds) of a stat line. The name may contain spaces and
    /// parentheses, so fields are counted from the last ')'.
    static func parseStat(_ text: String) -> (String, Double, Double)? {
        guard let open = text.firstIndex(of: "("), let close = text.lastIndex(of: ")") else { return nil }
        let name = String(text[text.index(after: open)..<close])
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] is the state (stat field 3); utime and stime are fields 14 and 15.
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (name, user / ticksPerSecond, system / ticksPerSecond)
    }

    static func field(_ name: String, in status: String) -> Int {
        for line in status.split(separator: "\n") where line.hasPrefix(name + ":") {
            return Int(line.dropFirst(name.count + 1).trimmingPrefix(while: { $0 == " " || $0 == "\t" })) ?? 0
        }
        return 0
    }

    /// A `/proc/<pid>/status` size such as `VmRSS:\t  1234 kB`, in KiB; 0 if absent.
    static func kibibytes(_ name: String, in status: String) -> Int {
        for line in status.split(separator: "\n") where line.hasPrefix(name + ":") {
            return line.dropFirst(name.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).first.flatMap { Int($0) } ?? 0
        }
        return 0
    }

    static func read(_ path: String) -> String? {
        guard let fd = try? FileDescriptor.open(path, O_RDONLY), let bytes = try? fd.read(upTo: 65536) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}
