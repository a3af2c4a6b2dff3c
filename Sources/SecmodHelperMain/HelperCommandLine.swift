import SecmodBase
import SecmodSystem

/// The helpers' GNUnet-style options: `-c FILE`, `-L LEVEL`, `-l LOGFILE`, `-w WORKERS`,
/// `-h`, `-v`, with long forms, `-cFILE` and `--config=FILE`. Taler's test programs start
/// helpers with `-c <relative> -L <level>`, so these must parse exactly as GNUnet's do.
public struct HelperCommandLine: Sendable, Equatable {
    public var configFile: String?
    public var logLevel: String?
    public var logFile: String?
    public var workers: Int?
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
            case "--allow-root" where inline == nil: allowRoot = true
            case "-h", "--help": help = true
            case "-v", "--version": version = true
            default: throw SecmodError(.usage, "unknown option '\(arg)'; see -h")
            }
            i += 1
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
              --allow-root      run even as root (tests, containers); never in production
          -h, --help            print this help
          -v, --version         print the version

        """
    }
}
