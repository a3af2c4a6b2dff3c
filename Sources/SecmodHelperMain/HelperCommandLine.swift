import SecmodBase
import SecmodConfig
import SecmodSystem

/// The helpers' GNUnet-style options: every option Taler's helpers take (0.9.2 to 0.14):
/// `-c FILE`, `-L LEVEL`, `-l LOGFILE`, `-w WORKERS`, `-T OFFSET`, `-t TIMESTAMP`, `-h`,
/// `-v`, with long forms, `-cFILE` and `--config=FILE`; and ours, `--section-prefix` and
/// `--allow-root`. Taler's test programs start helpers with `-c <relative> -L <level>`, and
/// its harnesses add `-T`/`-t`, so these must parse exactly as GNUnet's do.
public struct HelperCommandLine: Sendable, Equatable {
    public var configFile: String?
    public var logLevel: String?
    public var logFile: String?
    public var workers: Int?
    /// `-T`: GNUnet's time travel, an offset in µs added to every wall-clock reading
    /// (tests run a helper as if it were later or earlier).
    public var timeTravel: Int64?
    /// `-t`: the time the first key-schedule run takes as now, in µs since the epoch
    /// (Taler: "pretend it is a different time for the update").
    public var startTime: UInt64?
    /// `--section-prefix`: the configuration section is `<prefix>-secmod-eddsa` (or `-rsa`),
    /// as Taler 0.14 builds it for the programs that embed its helpers.
    public var sectionPrefix: String?
    /// Root may read every key file and ptrace every process; a helper running as root
    /// gains nothing from its own hardening, so it needs saying on purpose.
    public var allowRoot = false
    public var help = false
    public var version = false

    public init(arguments: [String]) throws(SecmodError) {
        var i = 0
        func value(_ name: String, inline: String?) throws(SecmodError) -> String {
            if let inline { return inline }
            i += 1
            guard i < arguments.count else { throw SecmodError(.usage, "option \(name) needs a value") }
            return arguments[i]
        }
        while i < arguments.count {
            let arg = arguments[i]
            var name = arg
            var inline: String?
            if arg.hasPrefix("--"), let eq = arg.firstIndex(of: "=") {
                name = String(arg[..<eq])
                inline = String(arg[arg.index(after: eq)...])
            } else if arg.hasPrefix("-"), !arg.hasPrefix("--"), arg.count > 2 {
                name = String(arg.prefix(2))
                inline = String(arg.dropFirst(2))
            }
            switch name {
            case "-c", "--config": configFile = try value(name, inline: inline)
            case "-L", "--log": logLevel = try value(name, inline: inline)
            case "-l", "--logfile": logFile = try value(name, inline: inline)
            case "-w", "--workers":
                let text = try value(name, inline: inline)
                guard let n = Int(text), n >= 0, n <= 1024 else {
                    throw SecmodError(.usage, "-w needs a worker count from 0 (one per CPU) to 1024, not '\(text)'")
                }
                workers = n
            case "-T", "--timetravel": timeTravel = try Self.timeTravel(try value(name, inline: inline))
            case "-t", "--time": startTime = try Self.timestamp(try value(name, inline: inline))
            case "--section-prefix":
                let prefix = try value(name, inline: inline)
                guard Self.isSectionPrefix(prefix) else {
                    throw SecmodError(.usage, "--section-prefix needs letters, digits, '-' or '_' (such as taler-exchange), not '\(prefix)'")
                }
                sectionPrefix = prefix
            case "--allow-root" where inline == nil: allowRoot = true
            case "-h", "--help": help = true
            case "-v", "--version": version = true
            default: throw SecmodError(.usage, "unknown option '\(arg)'; see -h")
            }
            i += 1
        }
    }

    /// `-T [+|-]OFFSET`: a bare number is µs, as GNUnet reads it; a GNUnet relative time
    /// (`5 s`, `-1 h`) is accepted too, as GNUnet's option does.
    static func timeTravel(_ text: String) throws(SecmodError) -> Int64 {
        var rest = Substring(text)
        let negative = rest.first == "-"
        if rest.first == "-" || rest.first == "+" { rest = rest.dropFirst() }
        let magnitude: RelativeTime
        do throws(SecmodError) { magnitude = try parseRelativeTime(String(rest)) } catch {
            throw SecmodError(.usage, "-T needs an offset such as 3600000000 (µs) or '-1 h': \(error.message)")
        }
        guard magnitude != .forever, magnitude.microseconds <= UInt64(Int64.max) else {
            throw SecmodError(.usage, "-T: the offset '\(text)' is out of range")
        }
        let value = Int64(magnitude.microseconds)
        return negative ? -value : value
    }

    /// `-t TIMESTAMP`: a local date in one of GNUnet's formats (`2030-01-02 03:04:05`,
    /// `2030-01-02`, ...), in µs. GNUnet also takes "end of time", which as the time of a
    /// key-schedule run would create keys that never start; it is refused here.
    static func timestamp(_ text: String) throws(SecmodError) -> UInt64 {
        guard let seconds = CalendarTime.parseLocal(text), seconds >= 0, seconds < 253_402_300_800 else {
            throw SecmodError(.usage, "-t needs a date such as '2030-01-02 03:04:05' or '2030-01-02' (local time), not '\(text)'")
        }
        return UInt64(seconds) * 1_000_000
    }

    static func isSectionPrefix(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 64 && text.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2D || c == 0x5F
        }
    }

    public static func usage(program: String, summary: String) -> String {
        """
        Usage: \(program) [OPTIONS]
        \(summary)

          -c, --config=FILE     configuration file (defaults from config.d are loaded first)
          -L, --log=LEVEL       ERROR, WARNING, MESSAGE (default), INFO or DEBUG
          -l, --logfile=FILE    append log lines to FILE instead of standard error
          -w, --workers=N       signing threads; 0 means one per CPU (default: WORKERS option)
          -T, --timetravel=[+/-]MICROSECONDS
                                run as if the clock were off by this much (tests only)
          -t, --time=TIMESTAMP  take this local time as now for the first key update
              --section-prefix=PREFIX
                                read [PREFIX-secmod-...] (default taler-exchange)
              --allow-root      run even as root (tests, containers); never in production
          -h, --help            print this help
          -v, --version         print the version

        """
    }
}
