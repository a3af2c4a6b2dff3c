import Logging
import SecmodBase
import SecmodSystem
import SecmodWire
#if canImport(Glibc)
import Glibc
#endif

/// Sessions: the handshake on the main socket, requests on session sockets, ordered
/// replies and non-blocking sends.
extension HelperEngine {
    /// Stream: accepts connections. Datagram: reads INITs from the main socket and adopts
    /// the session socket each one carries.
    func acceptHandshakes() {
        assertOnLoop()
        guard let listener else { return }
        if settings.socketType == .stream {
            acceptConnections(listener)
            return
        }
        for _ in 0..<64 {
            let received: Handover?
            do throws(Errno) { received = try listener.socket.receiveHandover(into: &receiveBuffer) } catch {
                dropLog.warning(logger, reason: "main socket receive failed", error.description)
                return
            }
            guard var handover = received else { return }
            // Every early `continue` drops `handover`, which closes the passed descriptor.
            guard admits(handover.credentials, what: "INIT"), let credentials = handover.credentials else { continue }
            if let problem = initProblem(handover, from: credentials) {
                dropLog.warning(logger, reason: "dropped a bad INIT", "\(problem), from \(credentials)")
                continue
            }
            guard let descriptor = handover.descriptor.take() else { continue }
            openSession(adopting: descriptor, owner: credentials)
        }
    }

    /// Why an INIT on the main socket is refused, or nil when it is good: exactly the
    /// 4-byte INIT of this family, and exactly one descriptor, a connected AF_UNIX
    /// SOCK_SEQPACKET socket, with nothing lost from the control data.
    private func initProblem(_ handover: borrowing Handover, from credentials: PeerCredentials) -> String? {
        let length = handover.length
        guard length >= MessageHeader.byteCount, let header = MessageHeader.peek(receiveBuffer), header.size == length,
              header.type == family.messageTypes.initialize else {
            return "a \(length)-byte datagram that is not an INIT (the main socket accepts only INIT)"
        }
        guard length == MessageHeader.byteCount else { return "an INIT with a \(length - MessageHeader.byteCount)-byte body" }
        guard !handover.controlTruncated else { return "an INIT whose control data was truncated (too many descriptors passed, or none free here)" }
        guard handover.descriptorCount == 1, let identity = handover.descriptorIdentity else {
            return "an INIT carrying \(handover.descriptorCount) descriptors (it must carry its session socket)"
        }
        guard identity.isConnectedUnixSeqpacket else {
            return "an INIT whose descriptor is not a connected AF_UNIX SOCK_SEQPACKET socket (domain \(identity.domain.map(String.init) ?? "none"), type \(identity.type.map(String.init) ?? "none"), connected \(identity.isConnected))"
        }
        // A socket pair the sender's user made, not a connection to some other service
        // that the helper would then write to with its own credentials.
        guard identity.peer?.uid == credentials.uid else {
            return "an INIT whose session socket is connected to uid \(identity.peer.map { String($0.uid) } ?? "unknown"), not to the sender's"
        }
        return nil
    }

    /// No handshake on a stream (wire.md §8.1): every key, then SYNCED, go out at once.
    private func acceptConnections(_ listener: SocketHandle) {
        for _ in 0..<64 {
            let accepted: UnixSocket?
            do throws(Errno) { accepted = try listener.socket.accept() } catch {
                if error.rawValue == EMFILE || error.rawValue == ENFILE {
                    // No busy loop on a readable listener.
                    apply(table.acceptRanOutOfDescriptors(now: Clock.monotonicMicroseconds()))
                }
                dropLog.warning(logger, reason: "accept failed", error.description)
                return
            }
            guard let connection = accepted else { return }
            // Closing the connection unanswered: the refused caller learns nothing, not even
            // which keys exist.
            guard let credentials = try? connection.peerCredentials(), admits(credentials, what: "connection") else { continue }
            let id = reserveSession()
            let socket = SocketHandle(connection)
            let channel = ReplyChannel(socket: socket, isStream: true, maxMessages: settings.sessionOutboxMessages,
                                       maxBytes: settings.sessionOutboxBytes, maxInflight: settings.sessionMaxInflight,
                                       maxInflightBytes: settings.sessionMaxInflightBytes, budget: inflightBudget)
            let session = Session(id: id, channel: channel, isStream: true, owner: credentials)
            guard watch(session) else { continue }
            logger.info("connection \(session.id) accepted (\(credentials))")
            if ready { sendKeyDump(session) }
        }
    }

    /// Applies CLIENT_USERS/CLIENT_GROUPS. A refused caller gets no answer at all; the log
    /// line is rate-limited so that a refused caller cannot flood the log.
    /// `what` is only built for the log line: a message on a session asks on every request.
    private func admits(_ credentials: PeerCredentials?, what: @autoclosure () -> String) -> Bool {
        if settings.callers.admits(credentials) { return true }
        refusedLog.warning(logger, reason: "refused a caller not in CLIENT_USERS/CLIENT_GROUPS",
                           "\(what()) from \(credentials.map(\.description) ?? "a sender without credentials")")
        return false
    }

    /// Every message on a session must come from the uid that opened it (and still pass
    /// the allow-list). Another uid means the client handed its socket to someone else: the
    /// message is dropped and the session closed, so the socket is worth nothing to them.
    private func isFromOwner(_ credentials: PeerCredentials?, _ session: Session) -> Bool {
        guard let credentials, credentials.uid == session.owner.uid else {
            dropLog.warning(logger, reason: "closed a session written to by another user",
                            "session \(session.id) belongs to uid \(session.owner.uid) (pid \(session.owner.pid)); the message came from \(credentials.map(\.description) ?? "a sender without credentials")")
            closeSession(session, reason: "a message from another user")
            return false
        }
        guard admits(credentials, what: "message on session \(session.id)") else {
            closeSession(session, reason: "caller no longer admitted")
            return false
        }
        return true
    }

    /// The id of a new session; at the session cap, the session idle longest makes room.
    private func reserveSession() -> UInt64 {
        let (id, effects) = table.reserve(now: Clock.monotonicMicroseconds())
        apply(effects)
        return id
    }

    /// Descriptors kept free for what the helper opens besides sessions: key and counter
    /// files, the log, a session arriving while the cap is reached.
    static var descriptorReserve: Int { 64 }

    /// Raises RLIMIT_NOFILE to its hard limit and lowers the session cap below MAX_SESSIONS
    /// when descriptors would run out first, so that a new client always finds one.
    func capSessionsByDescriptors() -> Int {
        let limit: Int
        do throws(SecmodError) { limit = try DescriptorLimit.raiseToHardLimit() } catch {
            logger.warning("\(error); keeping MAX_SESSIONS = \(settings.maxSessions)")
            return settings.maxSessions
        }
        let available = limit - DescriptorLimit.openCount() - Self.descriptorReserve
        guard available < settings.maxSessions else { return settings.maxSessions }
        let cap = max(1, available)
        logger.warning("RLIMIT_NOFILE is \(limit): serving at most \(cap) sessions, not MAX_SESSIONS = \(settings.maxSessions), so that descriptors never run out (raise LimitNOFILE= to serve more)")
        return cap
    }

    /// Adopts the client's end of its socket pair as the session.
    private func openSession(adopting descriptor: consuming FileDescriptor, owner: PeerCredentials) {
        let socket = UnixSocket(adopting: descriptor)
        do throws(Errno) {
            try socket.descriptor.setNonBlocking()
            try socket.setPassCredentials()
            try socket.setSendBufferSize(settings.sessionSendBuffer)
        } catch {
            dropLog.warning(logger, reason: "could not open a session", "for \(owner): \(error)")
            return
        }
        let id = reserveSession()
        let channel = ReplyChannel(socket: SocketHandle(socket), isStream: false, maxMessages: settings.sessionOutboxMessages,
                                   maxBytes: settings.sessionOutboxBytes, maxInflight: settings.sessionMaxInflight,
                                   maxInflightBytes: settings.sessionMaxInflightBytes, budget: inflightBudget)
        let session = Session(id: id, channel: channel, isStream: false, owner: owner)
        guard watch(session) else { return }
        logger.info("session \(session.id) opened (\(owner))")
        if ready { sendKeyDump(session) }
    }

    /// Adds a new session to the loop's interest list, for reading. False if the kernel
    /// refused (its limit on watched descriptors): the session is then dropped unopened.
    private func watch(_ session: Session) -> Bool {
        do throws(Errno) { try epoll.add(session.socket.rawValue, .readable, token: session.id) } catch {
            dropLog.warning(logger, reason: "could not open a session", "epoll_ctl: \(error)")
            return false
        }
        table.opened(session.id, now: Clock.monotonicMicroseconds())
        sessions[session.id] = session
        return true
    }

    /// Brings the session's epoll interest in line with its channel: readable unless it is
    /// at SESSION_MAX_INFLIGHT (backpressure), writable while its outbox holds messages.
    /// Called whenever the loop changes the channel or a worker reports a change.
    func updateInterest(_ session: Session, status: ReplyChannel.Status? = nil) {
        assertOnLoop()
        guard !session.closed else { return }
        apply(table.channelChanged(session.id, Self.state(status ?? session.channel.status)))
    }

    static func state(of channel: ReplyChannel) -> SessionTable.ChannelState { state(channel.status) }

    static func state(_ status: ReplyChannel.Status) -> SessionTable.ChannelState {
        SessionTable.ChannelState(wantsWrite: status.wantsWrite, atInflightBound: status.atInflightBound,
                                  heldByBudget: status.heldByBudget, blockedSince: status.blockedSince)
    }

    /// Carries out what the session table decided.
    func apply(_ effects: [SessionTable.Effect]) {
        assertOnLoop()
        for effect in effects {
            switch effect {
            case let .close(id, reason):
                if let session = sessions[id] { closeSession(session, reason: reason.description) }
            case let .watch(id, events):
                guard let session = sessions[id], !session.closed else { continue }
                do throws(Errno) { try epoll.modify(session.socket.rawValue, events, token: id) } catch {
                    closeSession(session, reason: "epoll_ctl failed: \(error)")
                }
            case let .listener(paused):
                guard let listener else { continue }
                try? epoll.modify(listener.socket.rawValue, paused ? [] : .readable, token: Self.listenerToken)
            }
        }
    }

    /// Every turn: the blocked timeout and the listener's pause.
    func tickSessions() {
        let sessions = self.sessions
        apply(table.tick(now: Clock.monotonicMicroseconds(), state: { id in sessions[id].map { Self.state(of: $0.channel) } }))
    }

    /// The helper-wide budget has room again: every session it held back is read again.
    func resumeBudgetPaused() {
        for id in table.budgetPaused {
            if let session = sessions[id] { updateInterest(session) }
        }
    }

    /// Every announced key, in dump order, then SYNCED (wire.md §8.1).
    func sendKeyDump(_ session: Session) {
        assertOnLoop()
        for key in registry.ordered where !session.closed { send(key.announcement.avail, to: session) }
        send(MessageHeader.bare(type: family.messageTypes.synced), to: session)
        session.dumped = true
    }

    /// Sends to every session that has had its dump (pushes of AVAIL and PURGE).
    func broadcast(_ message: [UInt8]) {
        assertOnLoop()
        for session in Array(sessions.values) where session.dumped && !session.closed {
            send(message, to: session)
        }
    }

    /// Reads and dispatches one message. One per session per turn: a blocking client has
    /// one request outstanding, so reading on to EAGAIN would cost a syscall per request,
    /// and a client that pipelines gets no more than its share of the loop.
    func readRequests(_ session: Session) {
        assertOnLoop()
        if session.isStream {
            readStream(session)
            return
        }
        let now = settings.wallNow()
        let received: (length: Int, credentials: PeerCredentials?)?
        do throws(Errno) { received = try session.socket.receiveFromPeer(into: &receiveBuffer) } catch {
            let gone = error.rawValue == ECONNRESET || error.rawValue == EPIPE
            closeSession(session, reason: gone ? "client went away" : "receive failed: \(error)")
            return
        }
        guard let (length, credentials) = received else { return }
        // A read of 0 bytes is end of file (the client closed or shut down its end) or an
        // empty packet, which SOCK_SEQPACKET allows: only a packet carries credentials.
        if length == 0, credentials == nil || session.socket.hasHungUp {
            closeSession(session, reason: "client closed its session")
            return
        }
        guard isFromOwner(credentials, session) else { return }
        table.activity(session.id, now: Clock.monotonicMicroseconds())
        guard length <= MessageHeader.maximumMessageSize else {
            dropLog.warning(logger, reason: "dropped oversize message", "\(length) bytes on session \(session.id)")
            return
        }
        guard let header = MessageHeader.peek(receiveBuffer), header.size == length, length >= MessageHeader.byteCount else {
            dropLog.warning(logger, reason: "dropped a message whose header disagrees with its length",
                            "\(length) bytes on session \(session.id)")
            return
        }
        if header.type == family.messageTypes.initialize {
            dropLog.warning(logger, reason: "dropped INIT on a session", "session \(session.id); INIT goes to the main socket")
            return
        }
        let request = Array(receiveBuffer[0..<length])
        dispatch(family.handle(request: request, header: header, keys: registry, now: now), from: session,
                 requestBytes: request.count)
    }

    /// Reads what a stream connection sent and handles every whole message in it, in order.
    ///
    /// Between messages the read goes into the loop's one receive buffer; a partial message
    /// left at its end moves into the connection's own buffer, sized to that message, and
    /// the rest of it is read straight there (`readPartial`). An idle connection holds no
    /// buffer (4,000 connections once held 64 KiB each), and a client that trickles a large
    /// message byte by byte costs a read per byte, never a copy of what came before.
    private func readStream(_ session: Session) {
        if session.streamFill > 0 {
            readPartial(session)
            return
        }
        guard let count = readSome(session, into: &receiveBuffer, at: 0) else { return }
        let now = settings.wallNow()
        var offset = 0
        while !session.closed, count - offset >= MessageHeader.byteCount,
              let header = MessageHeader.peek(receiveBuffer, at: offset) {
            guard header.size >= MessageHeader.byteCount else {
                closeSession(session, reason: "message size \(header.size) is less than a header: protocol violation")
                return
            }
            guard count - offset >= header.size else { break }
            let request = Array(receiveBuffer[offset..<offset + header.size])
            offset += header.size
            handleStreamMessage(request, header: header, from: session, now: now)
        }
        guard !session.closed, offset < count else { return }
        let rest = count - offset
        let size = rest >= MessageHeader.byteCount ? MessageHeader.peek(receiveBuffer, at: offset)!.size : MessageHeader.byteCount
        var partial = [UInt8](repeating: 0, count: size)
        receiveBuffer.withUnsafeBufferPointer { source in
            partial.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: source.baseAddress! + offset, count: rest) }
        }
        session.streamBuffer = partial
        session.streamFill = rest
    }

    /// Continues a partial message: reads at most to its end, into the connection's buffer.
    private func readPartial(_ session: Session) {
        guard let count = readSome(session, into: &session.streamBuffer, at: session.streamFill) else { return }
        session.streamFill += count
        guard session.streamFill == session.streamBuffer.count else { return }
        if session.streamBuffer.count == MessageHeader.byteCount {
            // The header is in: size the buffer to the message.
            let size = MessageHeader.peek(session.streamBuffer)!.size
            guard size >= MessageHeader.byteCount else {
                closeSession(session, reason: "message size \(size) is less than a header: protocol violation")
                return
            }
            if size > MessageHeader.byteCount {
                session.streamBuffer += [UInt8](repeating: 0, count: size - MessageHeader.byteCount)
                return
            }
        }
        let request = session.streamBuffer
        session.streamBuffer = []
        session.streamFill = 0
        handleStreamMessage(request, header: MessageHeader.peek(request)!, from: session, now: settings.wallNow())
    }

    /// One read from a stream connection into `buffer[offset...]`: the count, or nil when
    /// there was nothing to read or the connection closed (then it is closed here too).
    private func readSome(_ session: Session, into buffer: inout [UInt8], at offset: Int) -> Int? {
        let read: (count: Int, credentials: PeerCredentials?)?
        do throws(Errno) { read = try session.socket.readSome(into: &buffer, at: offset) } catch {
            closeSession(session, reason: "receive failed: \(error)")
            return nil
        }
        guard let (count, credentials) = read else { return nil }
        guard count > 0 else {
            closeSession(session, reason: "client closed the connection")
            return nil
        }
        guard isFromOwner(credentials, session) else { return nil }
        table.activity(session.id, now: Clock.monotonicMicroseconds())
        return count
    }

    private func handleStreamMessage(_ request: [UInt8], header: MessageHeader, from session: Session, now: UInt64) {
        if header.type == family.messageTypes.initialize {
            closeSession(session, reason: "INIT on a stream connection (obsolete since Taler 0.9): protocol violation")
            return
        }
        dispatch(family.handle(request: request, header: header, keys: registry, now: now), from: session,
                 requestBytes: request.count)
    }

    private func dispatch(_ outcome: RequestOutcome, from session: Session, requestBytes: Int = 0) {
        switch outcome {
        case let .violation(reason):
            if session.isStream {
                closeSession(session, reason: "\(reason): protocol violation")
            } else {
                dropLog.warning(logger, reason: "malformed request answered with code 26", "\(reason) on session \(session.id)")
                dispatch(.reply([.immediate(SignFailure.encode(type: family.messageTypes.signFailure,
                                                               code: .genericParameterMalformed))], trailer: nil), from: session)
            }
        case let .drop(reason) where session.isStream:
            closeSession(session, reason: "\(reason): protocol violation")
        case let .drop(reason):
            dropLog.warning(logger, reason: reason, "session \(session.id)")
        case let .revoke(id):
            revoke(id: id, by: session)
        case let .reply(items, trailer):
            var parts = [[UInt8]?](repeating: nil, count: items.count)
            var work: [(Int, SigningJob)] = []
            for (index, item) in items.enumerated() {
                switch item {
                case let .immediate(bytes):
                    parts[index] = bytes
                    metrics.tally(bytes)
                case let .sign(job): work.append((index, job))
                }
            }
            let channel = session.channel
            var pending = PendingReply(parts: parts, missing: work.count, trailer: trailer, requestBytes: requestBytes)
            if work.contains(where: { !$0.1.isQuick }) { pending.group = PendingReply.slowGroup }
            let sequence = channel.open(pending)
            // A lone request while no worker is busy: sign it here, which costs less than
            // waking a worker (and, for the client, than the worker's wake-up latency).
            // Replies still go through the channel, in order.
            if loopMaySign, work.count == 1, work[0].1.isQuick, workers.isIdle,
               let reply = work[0].1.runWithoutBlocking() {
                metrics.tally(reply)
                loopMaySign = false
                signedOnLoop = true
                _ = channel.complete(sequence: sequence, index: work[0].0, reply: reply)
                work.removeAll()
            }
            let mailbox = self.mailbox
            let metrics = self.metrics
            let id = session.id
            let timed = settings.requestTimeout > 0 && !work.isEmpty
            if timed {
                deadlines.add(deadline: Clock.monotonicMicroseconds() &+ settings.requestTimeout, session: id, sequence: sequence)
            }
            // Quick signatures of a batch go to the workers in runs (`WorkerPool.quickRun`):
            // a hand-off per Clause-Schnorr signature cost as much as the signature.
            var start = 0
            while start < work.count {
                var end = start + 1
                while end < work.count, end - start < WorkerPool.quickRun, work[start].1.isQuick, work[end].1.isQuick { end += 1 }
                let run = Array(work[start..<end])
                start = end
                workers.submit(session: id, request: sequence) { signed in
                    // A session closed while the job waited (its client went away): its work
                    // is dropped unsigned, and uncounted. So is a signature whose request was
                    // answered meanwhile by REQUEST_TIMEOUT.
                    var replies: [(index: Int, reply: [UInt8])] = []
                    replies.reserveCapacity(run.count)
                    for (index, job) in run {
                        guard channel.isOpen else { break }
                        if timed, channel.isAnswered(sequence: sequence, index: index) { continue }
                        let reply = job.run()
                        metrics.tally(reply)
                        replies.append((index, reply))
                    }
                    signed()
                    guard !replies.isEmpty else { return }
                    if channel.complete(sequence: sequence, replies: replies) == .loop {
                        mailbox.post(.attention(id))
                    }
                }
            }
            checkChannel(session)
        }
    }

    /// REQUEST_TIMEOUT: requests whose time is up get the helper-unavailable reply for every
    /// signature still missing, in their place in the session's reply order.
    func expireRequests() {
        assertOnLoop()
        guard deadlines.count > 0 else { return }
        let failure = family.unavailableReply
        for entry in deadlines.due(now: Clock.monotonicMicroseconds()) {
            guard let session = sessions[entry.session], !session.closed else { continue }
            let answered = session.channel.expire(sequence: entry.sequence, failure: failure)
            guard answered > 0 else { continue }
            workers.drop(session: entry.session, request: entry.sequence)
            for _ in 0..<answered { metrics.tally(failure) }
            timeoutLog.warning(logger, reason: "request timeout",
                               "session \(session.id): \(answered) signature(s) not made within REQUEST_TIMEOUT (\(settings.requestTimeout / 1000) ms) answered as unavailable")
            checkChannel(session)
        }
        if !table.budgetPaused.isEmpty, !inflightBudget.isHolding { resumeBudgetPaused() }
    }

    /// Sends to one session through its channel (pushes and the dump).
    func send(_ message: [UInt8], to session: Session) {
        assertOnLoop()
        session.channel.push(message)
        checkChannel(session)
    }

    /// POLLOUT: the kernel takes messages again.
    func flushOutbox(_ session: Session) {
        session.channel.flushOutbox()
        checkChannel(session)
    }

    /// Closes the session if its channel failed (client gone, outbox overflow); otherwise
    /// updates what the loop watches it for.
    func checkChannel(_ session: Session) {
        // One look under the channel's lock, on every request.
        let status = session.channel.status
        if let failure = status.failure {
            closeSession(session, reason: failure)
        } else {
            updateInterest(session, status: status)
        }
    }

    func closeSession(_ session: Session, reason: String?) {
        assertOnLoop()
        guard !session.closed else { return }
        session.closed = true
        sessions[session.id] = nil
        // Before the close: a worker may still hold the socket, and epoll forgets a
        // descriptor only when every reference to it is closed.
        epoll.remove(session.socket.rawValue)
        apply(table.closed(session.id))  // a descriptor is free again (once workers let go of it)
        let budgetResumes = session.channel.close()
        workers.drop(session: session.id)
        if budgetResumes { resumeBudgetPaused() }
        if let reason { logger.info("session \(session.id) closed: \(reason)") }
        // The socket closes when the last reference to it goes (a worker may still hold one).
    }
}
