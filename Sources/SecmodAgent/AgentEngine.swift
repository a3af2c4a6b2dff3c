import Logging
import SecmodBase
import SecmodCrypto
import SecmodKeys
import SecmodServer
import SecmodSystem
import SecmodWire
#if canImport(Glibc)
import Glibc
#endif

/// `secmod-agent`'s engine: one event-loop thread that owns every connection and the
/// agent's rules (`AgentCore`), workers that sign, and the helpers' protections — the
/// caller checked by the kernel's credentials on every connection, at most one request per
/// connection at a worker and round-robin between connections, `REQUEST_TIMEOUT`, signature
/// counters written before signatures leave.
///
/// Keys held in this process sign on `workers`; keys in a token on `tokenWorkers`, so that a
/// token that hangs delays only its own keys' requests, which REQUEST_TIMEOUT then answers.
public final class AgentEngine {
    enum Completion: Sendable {
        case done(connection: UInt64, sequence: UInt64, reply: [UInt8])
    }

    let settings: AgentSettings
    let logger: Logger
    let core: AgentCore
    private let signals: TerminationSignals
    let mailbox: Mailbox<Completion>
    let workers: WorkerPool
    let tokenWorkers: WorkerPool?
    let epoll: Epoll
    private var listener: SocketHandle?
    private var connections: [UInt64: AgentConnection] = [:]
    /// Open connections per caller uid, for MAX_CONNECTIONS_PER_USER.
    private var connectionsPerUser: [UInt32: Int] = [:]
    private var nextConnectionID: UInt64 = 1
    /// REQUEST_TIMEOUT's deadlines in the order requests went to workers (one timeout for
    /// all, so a FIFO is ordered). Entries of answered requests are skipped when due.
    private var deadlines = FIFO<(deadline: UInt64, connection: UInt64, sequence: UInt64)>()
    private var connectionLog = RateLimitedLog()
    private let keyStoreLock: FileLock
    private let auditStoreLock: FileLock?
    private let keys: [AgentKey]
    private var stopping = false
    public var onHangUp: (() -> Void)?

    static var signalToken: UInt64 { .max }
    static var mailboxToken: UInt64 { .max - 1 }
    static var listenerToken: UInt64 { .max - 2 }

    /// Locks the key store, loads every configured key (creating those that do not exist
    /// yet) and starts the workers. Blocks SIGTERM and SIGINT before any thread exists.
    public init(settings: AgentSettings, logger: Logger) throws(SecmodError) {
        self.settings = settings
        self.logger = logger
        signals = try TerminationSignals()
        mailbox = try Mailbox<Completion>()
        epoll = try Epoll()
        try FileSystem.createDirectories(settings.keyDirectory, mode: 0o700)
        // The key store must be the agent's alone: KEY_DIR, each key's directory and file, AUDIT_DIR.
        var report = PrivateStorage.Report()
        let me = UInt32(geteuid())
        PrivateStorage.inspectDirectory(settings.keyDirectory, what: "KEY_DIR", keyFiles: nil, owner: me, into: &report)
        for key in settings.keys {
            PrivateStorage.inspectDirectory(settings.keyDirectory + "/" + key.name, what: "key directory", keyFiles: { _ in true },
                                            owner: me, into: &report)
        }
        PrivateStorage.inspectDirectory(settings.auditDirectory, what: "AUDIT_DIR", keyFiles: nil, owner: me, into: &report)
        for line in try PrivateStorage.apply(report) { logger.notice("\(line)") }
        keyStoreLock = try FileLock(path: settings.keyDirectory + "/" + KeyDirectory.lockFileName, what: "KEY_DIR \(settings.keyDirectory)")
        if (settings.auditDirectory + "/").hasPrefix(settings.keyDirectory + "/") {
            auditStoreLock = nil
        } else {
            try FileSystem.createDirectories(settings.auditDirectory, mode: 0o700)
            auditStoreLock = try FileLock(path: settings.auditDirectory + "/" + KeyDirectory.lockFileName, what: "AUDIT_DIR \(settings.auditDirectory)")
        }
        let keys = try AgentKeyLoader(settings: settings, logger: logger).loadAll()
        self.keys = keys
        core = AgentCore(keys: keys, allowAdd: settings.allowAdd, logger: logger)
        workers = try WorkerPool(count: settings.workers)
        tokenWorkers = keys.contains(where: \.inToken) ? try WorkerPool(count: settings.workers) : nil
    }

    /// Serves until SIGTERM or SIGINT. Returns the exit status.
    public func run() throws(SecmodError) -> Int32 {
        listener = try ServiceSocket.open(path: settings.unixPath, stream: true, mode: 0o660)
        do throws(Errno) {
            try epoll.add(signals.rawValue, .readable, token: Self.signalToken)
            try epoll.add(mailbox.counter.rawValue, .readable, token: Self.mailboxToken)
            try epoll.add(listener!.socket.rawValue, .readable, token: Self.listenerToken)
        } catch {
            throw error.error("epoll_ctl")
        }
        logger.notice("listening on \(settings.unixPath) (ssh-agent protocol, mode 0660) with \(workers.count) workers; \(keys.count) keys: \(keys.map(\.name).joined(separator: ", "))")
        if let users = settings.callers.allowedUsers {
            logger.notice("callers limited by CLIENT_USERS/CLIENT_GROUPS to uids \(users.sorted()) and gids \(settings.callers.allowedGroups.sorted())")
        }
        ServiceNotification.send("READY=1\nSTATUS=listening on \(settings.unixPath)")
        try loop()
        shutdown()
        return 0
    }

    private func loop() throws(SecmodError) {
        var ready = EpollReadySet()
        while !stopping {
            expireRequests()
            core.expire(now: Clock.monotonicMicroseconds())
            do throws(Errno) { try epoll.wait(into: &ready, timeoutMilliseconds: pollTimeout()) } catch {
                throw error.error("epoll_wait")
            }
            for i in 0..<ready.count {
                let (token, events) = ready[i]
                switch token {
                case Self.signalToken:
                    guard let signo = signals.next() else { continue }
                    if signo == SIGHUP {
                        if let onHangUp { onHangUp() } else { logger.notice("SIGHUP: nothing to reopen") }
                        continue
                    }
                    logger.notice("received signal \(signo), shutting down")
                    stopping = true
                    return
                case Self.mailboxToken:
                    processMailbox()
                case Self.listenerToken:
                    acceptConnections()
                default:
                    guard let connection = connections[token], !connection.closed else { continue }
                    serve(connection, events)
                }
            }
        }
    }

    /// Until the next REQUEST_TIMEOUT deadline or added key's expiry, whichever is first.
    private func pollTimeout() -> Int32 {
        guard let next = [deadlines.first?.deadline, core.nextExpiry].compactMap({ $0 }).min() else { return -1 }
        let now = Clock.monotonicMicroseconds()
        return Int32(clamping: (next > now ? next - now : 0) / 1000 + 1)
    }

    private func acceptConnections() {
        for _ in 0..<64 {
            let accepted: UnixSocket?
            do throws(Errno) { accepted = try listener!.socket.accept() } catch {
                connectionLog.warning(logger, reason: "accept failed", "\(error)")
                return
            }
            guard let socket = accepted else { return }
            let credentials = try? socket.peerCredentials()
            guard let caller = credentials ?? nil, settings.callers.admits(caller) else {
                connectionLog.warning(logger, reason: "refused a connection", "caller \((credentials ?? nil).map(\.description) ?? "without credentials") is not in CLIENT_USERS/CLIENT_GROUPS")
                continue  // closed as it goes
            }
            guard connections.count < settings.maxConnections else {
                connectionLog.warning(logger, reason: "refused a connection", "MAX_CONNECTIONS (\(settings.maxConnections)) are open; caller \(caller)")
                continue
            }
            guard connectionsPerUser[caller.uid, default: 0] < settings.maxConnectionsPerUser else {
                connectionLog.warning(logger, reason: "refused a connection", "MAX_CONNECTIONS_PER_USER (\(settings.maxConnectionsPerUser)) of uid \(caller.uid) are open; caller \(caller)")
                continue
            }
            let id = nextConnectionID
            nextConnectionID += 1
            let handle = SocketHandle(socket)
            let connection = AgentConnection(socket: handle, state: AgentConnectionState(id: id, caller: caller))
            do throws(Errno) { try epoll.add(handle.socket.rawValue, .readable, token: id) } catch {
                connectionLog.warning(logger, reason: "epoll_ctl failed", "\(error)")
                continue
            }
            connections[id] = connection
            connectionsPerUser[caller.uid, default: 0] += 1
        }
    }

    private func serve(_ connection: AgentConnection, _ events: PollEvents) {
        if events.contains(.writable) { flush(connection) }
        if !connection.closed, !events.intersection([.readable, .hangUp, .error]).isEmpty {
            if !connection.inputIsFull {
                var writer: PeerCredentials?
                do throws(Errno) {
                    if try !connection.read(writer: &writer) { connection.peerClosed = true }
                } catch {
                    close(connection, reason: nil)
                    return
                }
                if let writer, writer.uid != connection.state.caller.uid {
                    // The descriptor was handed to another user's process: SO_PEERCRED
                    // named whoever connected, and that is whom the rules were applied to.
                    connectionLog.warning(logger, reason: "closed a connection", "bytes written by \(writer) on a connection opened by \(connection.state.caller)")
                    close(connection, reason: nil)
                    return
                }
            }
            process(connection)
        }
        if connection.peerClosed, connection.pending == nil, !connection.closed {
            close(connection, reason: nil)
            return
        }
        updateInterest(connection)
    }

    /// Handles whole messages while nothing is at a worker and nothing waits to be sent.
    private func process(_ connection: AgentConnection) {
        while !connection.closed, connection.pending == nil, !connection.hasOutput {
            let start = connection.inputStart
            switch AgentFraming.next(in: connection.input, from: connection.inputStart, to: connection.inputEnd) {
            case .incomplete:
                if connection.peerClosed { close(connection, reason: nil) }
                return
            case let .invalid(length):
                connectionLog.warning(logger, reason: "closed a connection", "a message of \(length) bytes announced (at most \(AgentFraming.maximumMessageSize)); caller \(connection.state.caller)")
                close(connection, reason: nil)
                return
            case let .message(payload, consumed):
                connection.inputStart += consumed
                let action = core.handle(payload, connection: &connection.state, now: Clock.monotonicMicroseconds())
                connection.wipeConsumed(from: start)
                switch action {
                case let .reply(reply):
                    connection.queue(reply)
                    flush(connection)
                case let .work(work):
                    if work.mayBlock, connection.abandoned > 0 {
                        connectionLog.warning(logger, reason: "refused (timeout)", "a token request while this connection's earlier one still hangs; caller \(connection.state.caller)")
                        connection.queue(work.failureReply)
                        flush(connection)
                    } else {
                        submit(work, connection)
                    }
                case .close:
                    close(connection, reason: nil)
                }
            }
        }
    }

    private func submit(_ work: AgentWork, _ connection: AgentConnection) {
        connection.sequence += 1
        let sequence = connection.sequence, id = connection.id
        connection.pending = sequence
        let pool = work.mayBlock ? (tokenWorkers ?? workers) : workers
        pool.submit(session: id, request: sequence) { [mailbox, logger] signed in
            let reply = work.run(logger: logger)
            signed()
            mailbox.post(.done(connection: id, sequence: sequence, reply: reply))
        }
        if settings.requestTimeout > 0 {
            deadlines.append((Clock.monotonicMicroseconds() &+ settings.requestTimeout, id, sequence))
        }
    }

    private func processMailbox() {
        for completion in mailbox.takeAll() {
            switch completion {
            case let .done(id, sequence, reply):
                guard let connection = connections[id], !connection.closed else { continue }
                guard connection.pending == sequence else {
                    // The late result of a request answered at REQUEST_TIMEOUT: discarded.
                    if connection.abandoned > 0 { connection.abandoned -= 1 }
                    continue
                }
                connection.pending = nil
                connection.queue(reply)
                flush(connection)
                process(connection)
                if connection.peerClosed, connection.pending == nil, !connection.closed { close(connection, reason: nil); continue }
                if !connection.closed { updateInterest(connection) }
            }
        }
    }

    /// REQUEST_TIMEOUT: a request still at a worker when its time is up is answered with
    /// FAILURE; its job is dropped if no worker took it yet, and its late result discarded.
    private func expireRequests() {
        let now = Clock.monotonicMicroseconds()
        while let first = deadlines.first, first.deadline <= now {
            _ = deadlines.popFirst()
            guard let connection = connections[first.connection], !connection.closed, connection.pending == first.sequence else { continue }
            let dropped = (tokenWorkers?.drop(session: first.connection, request: first.sequence) ?? 0)
                + workers.drop(session: first.connection, request: first.sequence)
            // A job a worker already runs goes on (a hanging token call cannot be stopped):
            // until it returns, this connection's next token request is refused at once, so
            // that one client cannot occupy every token worker with calls that hang.
            if dropped == 0 { connection.abandoned += 1 }
            connection.pending = nil
            connectionLog.warning(logger, reason: "request timed out", "no answer within REQUEST_TIMEOUT (\(settings.requestTimeout / 1000) ms) for \(connection.state.caller): answered FAILURE")
            connection.queue(AgentReply.failure)
            flush(connection)
            process(connection)
            if !connection.closed { updateInterest(connection) }
        }
    }

    private func flush(_ connection: AgentConnection) {
        do throws(Errno) { try connection.flush() } catch {
            close(connection, reason: nil)
        }
    }

    private func updateInterest(_ connection: AgentConnection) {
        guard !connection.closed else { return }
        var wanted: PollEvents = []
        if !connection.inputIsFull, !connection.peerClosed { wanted.insert(.readable) }
        if connection.hasOutput { wanted.insert(.writable) }
        guard wanted != connection.interest else { return }
        connection.interest = wanted
        try? epoll.modify(connection.socket.socket.rawValue, wanted, token: connection.id)
    }

    private func close(_ connection: AgentConnection, reason: String?) {
        guard !connection.closed else { return }
        connection.closed = true
        if let reason { logger.info("closing connection of \(connection.state.caller): \(reason)") }
        epoll.remove(connection.socket.socket.rawValue)
        workers.drop(session: connection.id)
        tokenWorkers?.drop(session: connection.id)
        for i in connection.input.indices { connection.input[i] = 0 }
        connections[connection.id] = nil
        let uid = connection.state.caller.uid
        connectionsPerUser[uid] = connectionsPerUser[uid].flatMap { $0 > 1 ? $0 - 1 : nil }
    }

    private func shutdown() {
        ServiceNotification.send("STOPPING=1")
        if listener != nil {
            listener = nil
            _ = try? FileSystem.remove(settings.unixPath)
        }
        let dropped = workers.shutdown() + (tokenWorkers?.shutdown() ?? 0)
        if dropped > 0 { logger.notice("dropped \(dropped) queued signatures unsigned") }
        processMailbox()
        for connection in Array(connections.values) { close(connection, reason: nil) }
        for key in keys { key.audit?.closeAll() }
        logger.notice("stopped")
    }
}
