import Logging
import SecmodAgent
import SecmodBase
import SecmodConfig
import SecmodCrypto
import SecmodServer
import SecmodSystem
#if canImport(Glibc)
import Glibc
#endif

/// The shared `main` of the helper executables: options, configuration, logging, engine.
/// Exit statuses follow GNUnet's: 0 done, 1 failure, 2 bad arguments, 4 no permission,
/// 6 not configured.
public enum HelperMain {
    public static let version = SecmodVersion.string

    public static func run<Family: KeyFamily>(
        program: String, summary: String, sectionSuffix: String, extraOptions: Set<String>,
        makeFamily: (Configuration, HelperSettings) throws(SecmodError) -> Family
    ) -> Int32 {
        serve(program: program, summary: summary) { (options, configuration, logger, sink) throws(SecmodError) in
            // Taler 0.14 names the section `<prefix>-secmod-<kind>`, the prefix being the
            // embedding program's ("taler-exchange" for the exchange).
            let section = (options.sectionPrefix ?? "taler-exchange") + "-" + sectionSuffix
            var settings = try HelperSettings(configuration: configuration, section: section, extraOptions: extraOptions,
                                              workersOverride: options.workers)
            settings.clockOffset = options.timeTravel ?? 0
            settings.startTime = options.startTime
            if let offset = options.timeTravel, offset != 0 {
                logger.warning("-T: the clock runs \(offset) µs off the system's (time travel, for tests only)")
            }
            let family = try makeFamily(configuration, settings)
            let engine = try HelperEngine(family: family, settings: settings, logger: logger, programName: program)
            engine.onHangUp = reopenOnHangUp(sink, logger)
            return try engine.run()
        }
    }

    /// `secmod-agent`'s main: the same options, logging, hardening and exit statuses as the
    /// helpers, then the agent's engine on `[secmod-agent]`.
    public static func runAgent() -> Int32 {
        let program = "secmod-agent"
        return serve(program: program, summary: "Key vault serving the ssh-agent protocol, with per-key purposes and onion-service key blinding.") {
            (options, configuration, logger, sink) throws(SecmodError) in
            let settings = try AgentSettings(configuration: configuration, workersOverride: options.workers)
            let engine = try AgentEngine(settings: settings, logger: logger)
            engine.onHangUp = reopenOnHangUp(sink, logger)
            return try engine.run()
        }
    }

    /// What every service's main does before its engine runs: options, logging, the root
    /// check, hardening, library initialisation and the configuration; then `body`, and
    /// exit statuses from the error codes.
    static func serve(program: String, summary: String,
                      body: (HelperCommandLine, Configuration, Logger, LogSink) throws(SecmodError) -> Int32) -> Int32 {
        let arguments = Array(CommandLine.arguments.dropFirst())
        let options: HelperCommandLine
        do throws(SecmodError) { options = try HelperCommandLine(arguments: arguments) } catch {
            printError("\(program): \(error)")
            return 2
        }
        if options.help { printOut(HelperCommandLine.usage(program: program, summary: summary)); return 0 }
        if options.version { printOut("\(program) (swift-secmod) \(version)\n"); return 0 }

        var level = Logger.Level.notice
        if let name = options.logLevel {
            guard let parsed = HelperLogHandler.level(named: name) else {
                printError("\(program): unknown log level '\(name)'; use ERROR, WARNING, MESSAGE, INFO or DEBUG")
                return 2
            }
            level = parsed
        }
        var sink = LogSink.standardError
        if let file = options.logFile {
            do throws(Errno) { sink = try LogSink.appending(to: file) } catch {
                printError("\(program): cannot open log file \(file): \(error)")
                return 1
            }
        }
        let journal = options.logFile == nil && LogSink.standardErrorIsJournal()
        let logger = Logger(label: program) { [sink] _ in HelperLogHandler(program: program, level: level, sink: sink, journal: journal) }

        if geteuid() == 0 && !options.allowRoot {
            logger.error("refusing to run as root: the service must run as its own user so that its clients cannot reach its keys (see contrib/systemd). Pass --allow-root only for tests")
            return 4
        }

        // Files the service creates are private unless it says otherwise (key files 0400,
        // directories 0700, the socket's mode set explicitly).
        FileSystem.setUmask(0o077)
        do throws(SecmodError) {
            // Before any key is loaded, and before any thread exists.
            try ProcessHardening.apply()
            warnIfMemoryCannotBeLocked(logger)
            try Gcrypt.initialize()
            try OpenSSL.initialize()
            let configuration = try TalerConfiguration.load(file: options.configFile)
            return try body(options, configuration, logger, sink)
        } catch {
            logger.error("\(error)")
            switch error.code {
            case .configMissing: return 6
            case .permission: return 4
            case .configValue, .configSyntax, .usage: return 6
            default: return 1
            }
        }
    }

    /// SIGHUP's work when logging to a file: reopen it (logrotate).
    static func reopenOnHangUp(_ sink: LogSink, _ logger: Logger) -> (() -> Void)? {
        guard let path = sink.path else { return nil }
        return { [sink] in
            do throws(Errno) {
                try sink.reopen()
                logger.notice("SIGHUP: log file \(LogText.quoted(path)) reopened")
            } catch {
                logger.error("SIGHUP: cannot reopen log file \(LogText.quoted(path)): \(error); still writing to the old one")
            }
        }
    }

    /// libgcrypt's secure pool (1 MiB) and the keys in libsodium's guarded pages must be
    /// locked out of swap. Both libraries go on unlocked when `mlock` fails (libsodium
    /// without a word), so the helper checks for itself and names the setting to change.
    static func warnIfMemoryCannotBeLocked(_ logger: Logger) {
        let needed = 2 << 20
        guard let error = MemoryLocking.probe(bytes: needed) else { return }
        let limit = MemoryLocking.softLimit.map { "\($0 >> 10) KiB" } ?? "unlimited"
        logger.warning("secrets cannot be locked in memory (mlock of \(needed >> 20) MiB failed: \(error); RLIMIT_MEMLOCK is \(limit)): they could be written to swap. Raise LimitMEMLOCK= in the unit (8M is plenty) or grant CAP_IPC_LOCK")
    }

    static func printOut(_ text: String) { LogSink.standardOutput.write(Array(text.utf8)) }

    static func printError(_ text: String) { LogSink.standardError.write(Array((text + "\n").utf8)) }
}
