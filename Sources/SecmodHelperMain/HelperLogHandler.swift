import Logging
import SecmodSystem
#if canImport(Glibc)
import Glibc
#endif

/// Log lines in GNUnet's spirit, one `write(2)` each so that lines from several threads never
/// interleave: `2026-11-22T15:04:05.123Z taler-exchange-secmod-eddsa-4711 WARNING message`.
///
/// When standard error is the journal (`journal`), a line is `<4>message` instead: the
/// journal adds the time, the pid and the unit itself, and reads the `<N>` prefix as the
/// syslog priority (sd-daemon(3)), so `journalctl -p warning` finds warnings.
public struct HelperLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    private let program: String
    private let sink: LogSink
    private let journal: Bool

    public init(program: String, level: Logger.Level, sink: LogSink, journal: Bool = false) {
        self.program = program
        self.logLevel = level
        self.sink = sink
        self.journal = journal
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line = journal
            ? "<\(Self.syslogPriority(of: event.level))>\(event.message)"
            : Self.timestamp() + " \(program)-\(getpid()) \(Self.name(of: event.level)) \(event.message)"
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        if !merged.isEmpty { line += " " + merged.sorted { $0.key < $1.key }.map { "\($0)=\($1)" }.joined(separator: " ") }
        // Callers quote what others chose with LogText.quoted; this makes sure that no
        // message, however it was built, can add a line or a terminal escape.
        line = LogText.neutralized(line) + "\n"
        sink.write(Array(line.utf8))
    }

    /// GNUnet's level names, so `-L WARNING` reads the same as for Taler's helpers.
    public static func level(named name: String) -> Logger.Level? {
        switch name.asciiUppercased {
        case "ERROR": .error
        case "WARNING": .warning
        case "MESSAGE": .notice
        case "INFO": .info
        case "DEBUG": .debug
        case "NONE": .critical
        default: nil
        }
    }

    static func name(of level: Logger.Level) -> String {
        switch level {
        case .trace, .debug: "DEBUG"
        case .info: "INFO"
        case .notice: "MESSAGE"
        case .warning: "WARNING"
        case .error, .critical: "ERROR"
        }
    }

    /// syslog(3) priorities, as the journal reads them from a `<N>` prefix.
    static func syslogPriority(of level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    static func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var t = tm()
        var seconds = ts.tv_sec
        gmtime_r(&seconds, &t)
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(t.tm_year + 1900, 4))-\(pad(t.tm_mon + 1, 2))-\(pad(t.tm_mday, 2))T\(pad(t.tm_hour, 2)):\(pad(t.tm_min, 2)):\(pad(t.tm_sec, 2)).\(pad(Int32(ts.tv_nsec / 1_000_000), 3))Z"
    }
}
