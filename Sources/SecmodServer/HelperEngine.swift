import Logging
import SecmodBase
import SecmodCrypto
import SecmodKeys
import SecmodSystem
import SecmodWire
#if canImport(Glibc)
import Glibc
#endif

/// The engine every helper runs: one event-loop thread that owns all state, a worker pool
/// that signs, and a maintenance thread that creates and deletes key files.
///
/// The loop polls the main socket (INIT only), every session socket, the mailbox eventfd
/// and the signalfd; the poll timeout is the key-schedule timer. Nothing on the loop
/// blocks: sends that would block go to the session's outbox, signing goes to workers and
/// disk writes go to the maintainer.
public final class HelperEngine<Family: KeyFamily> {
    enum Completion: Sendable {
        /// A worker could not finish a session's replies alone (blocked or failed).
        case attention(UInt64)
        case maintenance(KeyMaintainer<Family>.Result)
    }

    let family: Family
    let settings: HelperSettings
    let logger: Logger
    private let programName: String

    private let signals: TerminationSignals
    let mailbox: Mailbox<Completion>
    let workers: WorkerPool
    let maintainer: KeyMaintainer<Family>
    let securityModuleKey: any Ed25519Signer
    /// The file store, and the token's when one is configured (`KEY_STORE`).
    let keyStores: KeyStores

    let registry = KeyRegistry<Family.Material>()
    /// Pending and failed maintenance, held PURGEs, readiness, the next due time: the
    /// loop feeds it events and carries out its effects (`HelperEngine+Keys.swift`).
    var lifecycle: KeyLifecycle
    /// True once the first schedule run's keys exist: INITs are answered from then on.
    var ready: Bool { lifecycle.isReady }

    var listener: SocketHandle?
    var sessions: [UInt64: Session] = [:]
    /// The loop's interest list: the signalfd, the mailbox, the listener and every session.
    let epoll: Epoll
    /// Session ids, activity, epoll interest, the cap, the listener's pause and the blocked
    /// timeout: the loop feeds it events and carries out its effects (`HelperEngine+Sessions.swift`).
    var table: SessionTable
    /// MAX_INFLIGHT_BYTES, shared with every session's channel.
    let inflightBudget: InflightBudget
    var receiveBuffer = [UInt8](repeating: 0, count: MessageHeader.maximumMessageSize + 1)
    /// REQUEST_TIMEOUT's deadlines, oldest first (`expireRequests`).
    var deadlines = RequestDeadlines()
    var timeoutLog = RateLimitedLog()
    var dropLog = RateLimitedLog()
    var refusedLog = RateLimitedLog()
    let auditBook: AuditBook
    /// Failures by code, for `METRICS_FILE`; tallied on every thread that answers.
    let metrics: HelperMetrics
    var metricsWriter: MetricsWriter?
    var nextMetricsAt: UInt64 = 0
    var revokedSinceStart = 0
    /// Held for the process's life: one helper per key store.
    private let keyStoreLock: FileLock
    private let auditStoreLock: FileLock?
    private var stopping = false
    /// SIGHUP's work, set by the program: reopening its log file for logrotate.
    public var onHangUp: (() -> Void)?
    /// Set for a turn with exactly one ready descriptor: a lone request may then be signed
    /// on the loop if its job is quick and no worker is busy (`dispatch`); cleared once used.
    var loopMaySign = false
    /// The loop signed a lone request this turn: it spins for `spinAfterLoneRequest` before
    /// sleeping, since that client's next request is likely to follow at once.
    var signedOnLoop = false

    /// How long the loop polls without sleeping after signing a lone request (µs). At one
    /// client it took the p50 from 91 to 55 µs for about 10 µs more CPU per request; under
    /// load it never spins (the workers sign), so the throughput is unchanged.
    static var spinAfterLoneRequest: UInt64 { 50 }
    /// The thread that runs the loop, once it runs: loop-owned state is checked against it
    /// in debug builds (`assertOnLoop`).
    private var loopThread: UInt?

    /// Checks and locks the key store and loads the security module key: a helper that
    /// cannot own its keys never gets further. Blocks SIGTERM and SIGINT before any thread
    /// exists, so only the loop sees them; the workers start last.
    public init(family: Family, settings: HelperSettings, logger: Logger, programName: String) throws(SecmodError) {
        self.family = family
        self.settings = settings
        self.logger = logger
        self.programName = programName
        signals = try TerminationSignals()
        let mailbox = try Mailbox<Completion>()
        self.mailbox = mailbox
        epoll = try Epoll()
        inflightBudget = InflightBudget(limit: settings.maxInflightBytes)
        lifecycle = KeyLifecycle(schedules: family.groups.map(\.schedule))
        table = SessionTable(cap: settings.maxSessions, blockedTimeout: settings.sessionBlockedTimeout)
        auditBook = AuditBook(directory: AuditDirectory(path: settings.auditDirectory), block: settings.auditBlock, logger: logger)
        try Self.checkKeyStorage(family: family, settings: settings, logger: logger)
        keyStoreLock = try Self.lock(settings.keyDirectory, what: "KEY_DIR")
        // AUDIT_DIR too when it is elsewhere: another configuration could share only that.
        auditStoreLock = (settings.auditDirectory + "/").hasPrefix(settings.keyDirectory + "/")
            ? nil : try Self.lock(settings.auditDirectory, what: "AUDIT_DIR")
        let token = try Self.connectToken(family: family, settings: settings, logger: logger)
        let securityModuleKey = try Self.loadSecurityModuleKey(settings: settings, token: token, logger: logger)
        self.securityModuleKey = securityModuleKey
        keyStores = KeyStores(kind: settings.keyStore, file: family.fileStore, token: token.map {
            TokenKeyStore(token: $0, storeID: TokenKeyStore.storeID(section: settings.section,
                                                                    securityModulePublicKey: securityModuleKey.publicKey))
        })
        maintainer = KeyMaintainer(family: family, stores: keyStores, securityModule: securityModuleKey,
                                   labelPrefix: settings.section) { mailbox.post(.maintenance($0)) }
        metrics = HelperMetrics(failureType: family.messageTypes.signFailure)
        workers = try WorkerPool(count: settings.workers)
    }

    /// Debug builds: traps unless called on the loop's thread (or before the loop runs).
    @inline(__always)
    func assertOnLoop(_ function: StaticString = #function) {
        assert(loopThread == nil || loopThread == OSThread.currentID, "\(function) called off the event loop's thread")
    }

    /// Starts everything and serves until SIGTERM or SIGINT. Returns the exit status.
    public func run() throws(SecmodError) -> Int32 {
        loopThread = OSThread.currentID
        try loadKeys()
        try maintainer.start()
        if let path = settings.metricsFile {
            // At most one line per interval: the writer tries once per publication.
            let writer = MetricsWriter(path: path) { [logger] error in logger.warning("cannot write METRICS_FILE: \(error)") }
            try writer.start()
            metricsWriter = writer
            logger.notice("writing metrics to \(path) every \(HelperSettings.metricsInterval / 1_000_000) s")
        }
        try openListener()
        try watchOwnDescriptors()
        table.cap = capSessionsByDescriptors()
        logger.notice("listening on \(settings.unixPath) (\(settings.socketType.rawValue), mode 0620) with \(workers.count) workers; \(registry.count) keys loaded")
        for notice in family.startupNotices { logger.notice("\(notice)") }
        for option in settings.obsoleteOptions {
            logger.warning("[\(settings.section)] \(option) is obsolete and ignored: a session whose client goes away is closed at once (dgram-transport.md)")
        }
        if let users = settings.callers.allowedUsers {
            logger.notice("callers limited by CLIENT_USERS/CLIENT_GROUPS to uids \(users.sorted()) and gids \(settings.callers.allowedGroups.sorted())")
        } else {
            logger.info("no CLIENT_USERS/CLIENT_GROUPS: every caller the socket file's mode lets in may sign")
        }
        // Ready as soon as clients can connect: they wait for SYNCED themselves, and RSA key
        // generation at first start may take longer than a service manager's start timeout.
        ServiceNotification.send("READY=1\nSTATUS=listening on \(settings.unixPath)")

        perform(lifecycle.start(now: settings.startTime ?? settings.wallNow(), served: registry.anchors(group:)))
        try loop()
        shutdown()
        return 0
    }

    /// epoll tokens of the loop's own descriptors; sessions use their ids, which count up
    /// from 1 and never reach these.
    static var signalToken: UInt64 { .max }
    static var mailboxToken: UInt64 { .max - 1 }
    static var listenerToken: UInt64 { .max - 2 }

    private func watchOwnDescriptors() throws(SecmodError) {
        do throws(Errno) {
            try epoll.add(signals.rawValue, .readable, token: Self.signalToken)
            try epoll.add(mailbox.counter.rawValue, .readable, token: Self.mailboxToken)
            try epoll.add(listener!.socket.rawValue, .readable, token: Self.listenerToken)
        } catch {
            throw error.error("epoll_ctl")
        }
    }

    private func loop() throws(SecmodError) {
        var ready = EpollReadySet()
        while !stopping {
            let now = settings.wallNow()
            if now >= nextScheduleAction(now: now) { maintainKeys(now: now) }
            if metricsWriter != nil, now >= nextMetricsAt { publishMetrics(now: now) }
            tickSessions()
            expireRequests()
            do throws(Errno) {
                // After signing a lone client's request here, look for its next one for a
                // moment before sleeping: on this kind of machine a sleep and a wake-up cost
                // more than the signature, on both sides of the socket.
                var found = false
                if signedOnLoop {
                    signedOnLoop = false
                    let until = Clock.monotonicMicroseconds() + Self.spinAfterLoneRequest
                    repeat {
                        try epoll.wait(into: &ready, timeoutMilliseconds: 0)
                    } while ready.count == 0 && Clock.monotonicMicroseconds() < until
                    found = ready.count > 0
                }
                if !found { try epoll.wait(into: &ready, timeoutMilliseconds: pollTimeout(now: now)) }
            } catch {
                throw error.error("epoll_wait")
            }
            loopMaySign = ready.count == 1
            for i in 0..<ready.count {
                let (token, events) = ready[i]
                switch token {
                case Self.signalToken:
                    if let signo = signals.next() {
                        if signo == SIGHUP {
                            hangUp()
                            continue
                        }
                        logger.notice("received signal \(signo), shutting down")
                        stopping = true
                        return
                    }
                case Self.mailboxToken:
                    processMailbox()
                case Self.listenerToken:
                    acceptHandshakes()
                default:
                    // A session closed earlier in this turn is gone from `sessions`.
                    guard let session = sessions[token], !session.closed else { continue }
                    serve(session, events)
                }
            }
        }
    }

    /// Hands the loop's figures to the metrics thread (rendering is microseconds; the write
    /// and its fsync happen there).
    func publishMetrics(now: UInt64) {
        nextMetricsAt = now &+ HelperSettings.metricsInterval
        let keys = registry.ordered.map { key in
            HelperMetrics.KeyFigures(section: family.groups[key.group].name.isEmpty ? family.name : family.groups[key.group].name,
                                     anchorSeconds: key.anchor.seconds,
                                     endSeconds: key.anchor.seconds &+ key.duration.microseconds / 1_000_000,
                                     id: CrockfordBase32.encode(key.id), signatures: key.audit.signatures?.count)
        }
        let snapshot = HelperMetrics.Snapshot(program: programName, nowSeconds: now / 1_000_000, keys: keys,
                                              failures: metrics.failureCounts, sessions: sessions.count,
                                              queued: workers.queuedCount, revokedSinceStart: revokedSinceStart,
                                              pendingKeyWork: lifecycle.pendingCount,
                                              token: keyStores.token.map { ($0.token.label, $0.token.isAvailable) })
        metricsWriter?.publish(HelperMetrics.render(snapshot))
    }

    /// SIGHUP: what the program asked for (the log file reopened), or a line saying there was
    /// nothing to do. The helper keeps serving either way.
    private func hangUp() {
        if let onHangUp { onHangUp() } else { logger.notice("SIGHUP: nothing to reopen") }
    }

    /// One ready session: write what waits, read one message, or read to the end of a
    /// session whose client hung up.
    private func serve(_ session: Session, _ events: PollEvents) {
        if events.contains(.hangUp) {
            // The client closed its end. What it sent before still counts (a REVOKE
            // followed by exit must not be lost): read to end of file, which closes the
            // session; signatures nobody can receive are then dropped unsigned.
            var left = 100_000
            while !session.closed, left > 0 { readRequests(session); left -= 1 }
            closeSession(session, reason: "client closed its session")
            return
        }
        if events.contains(.writable) { flushOutbox(session) }
        if !session.closed, !events.intersection([.readable, .error]).isEmpty { readRequests(session) }
    }

    /// The poll timeout: until the next schedule action, at most 5 s so that a wall-clock
    /// jump is noticed soon, and at most 1 s while a session is blocked or the listener paused.
    private func pollTimeout(now: UInt64) -> Int32 {
        let next = nextScheduleAction(now: now)
        var wait = min(next > now ? next - now : 0, 5_000_000)
        if table.needsFrequentTurns { wait = min(wait, 1_000_000) }
        if metricsWriter != nil { wait = min(wait, nextMetricsAt > now ? nextMetricsAt - now : 0) }
        if let deadline = deadlines.next {
            let monotonic = Clock.monotonicMicroseconds()
            wait = min(wait, deadline > monotonic ? deadline - monotonic : 0)
        }
        return Int32((wait + 999) / 1000)
    }

    func processMailbox() {
        assertOnLoop()
        for completion in mailbox.takeAll() {
            switch completion {
            case let .attention(id):
                if let session = sessions[id] { checkChannel(session) }
                if !table.budgetPaused.isEmpty, !inflightBudget.isHolding { resumeBudgetPaused() }
            case let .maintenance(result): handleMaintenance(result)
            }
        }
    }

    /// How long a session must have taken none of its waiting replies for the stop to treat
    /// its client as not reading (µs).
    static var stalledAtStop: UInt64 { 1_000_000 }

    /// SIGTERM: stop reading, let the signatures already being made finish, drop the queued
    /// rest unsigned, send what is ready (for at most SHUTDOWN_TIMEOUT), write the exact
    /// counts, remove the socket file. Well inside systemd's stop timeout, however much a
    /// client had queued.
    ///
    /// A client that had taken none of its waiting replies for `Self.stalledAtStop` when the
    /// stop came was not reading: it is not waited for, so that a flooding client cannot
    /// hold every stop for the whole SHUTDOWN_TIMEOUT. A reading client drains its socket in
    /// microseconds.
    private func shutdown() {
        ServiceNotification.send("STOPPING=1")
        let stopAt = Clock.monotonicMicroseconds()
        let deadline = stopAt &+ settings.shutdownTimeout
        if listener != nil {
            listener = nil
            _ = try? FileSystem.remove(settings.unixPath)
        }
        let dropped = workers.shutdown()
        if dropped > 0 { logger.notice("dropped \(dropped) queued signatures unsigned") }
        processMailbox()
        let stalled = Set(sessions.values.filter { session in
            session.channel.status.blockedSince.map { stopAt &- $0 >= Self.stalledAtStop } ?? false
        }.map(\.id))
        if !stalled.isEmpty { logger.notice("not waiting for \(stalled.count) sessions that stopped reading before the stop") }
        while Clock.monotonicMicroseconds() < deadline {
            let waiting = sessions.values.filter { !$0.closed && !stalled.contains($0.id) && $0.channel.status.wantsWrite }
            if waiting.isEmpty { break }
            var polls = PollSet()
            for session in waiting { polls.add(session.socket.rawValue, .writable) }
            _ = try? polls.wait(timeoutMilliseconds: 100)
            for session in waiting { flushOutbox(session) }
        }
        auditBook.closeAll()  // no signature can follow: the workers are gone
        if metricsWriter != nil { publishMetrics(now: settings.wallNow()) }
        metricsWriter?.stop()
        maintainer.shutdown()
        for session in Array(sessions.values) { closeSession(session, reason: nil) }
        logger.notice("stopped")
    }
}
