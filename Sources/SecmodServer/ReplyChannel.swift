import SecmodSystem
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Everything that leaves a session, in order: replies in request order, and pushes
/// between whole replies. Shared by the event loop and the workers under one lock.
///
/// A worker that finishes the oldest outstanding request of a session sends its reply
/// itself, when the kernel takes it. That saves the hop back through the eventfd and a
/// wake-up of the loop per request, which on this machine costs more than an Ed25519
/// signature. The loop is involved only when it must be: a reply waits behind the kernel
/// buffer (it then polls for POLLOUT), or the session failed or overflowed.
///
/// The socket is written outside the lock, by one thread at a time (the sender). A send
/// wakes the client, and the scheduler often switches to it on the spot: a worker that
/// sent under the lock was switched out holding it, and the loop, reading that client's
/// next request, slept on the lock until the worker ran again (perf showed the loop in
/// futex waits under `open`). Now whoever files a message due to go out appends it to the
/// outbox; if no one is sending, it becomes the sender, takes everything queued, sends it
/// unlocked, and comes back for what others appended meanwhile. Order holds because only
/// the sender writes and the outbox is in order.
final class ReplyChannel: @unchecked Sendable {
    let socket: SocketHandle
    /// A stream socket takes part of a message when its buffer is nearly full; a datagram
    /// socket takes all or nothing.
    let isStream: Bool
    private let state: Locked<State>
    /// Cleared by `close`, read by workers before they sign and by the sender before each
    /// message, without taking the lock.
    private let openFlag = Atomic<Bool>(true)
    private let maxMessages: Int
    private let maxBytes: Int
    /// SESSION_MAX_INFLIGHT: at this many signatures queued, in progress or waiting in the
    /// outbox, the loop stops reading the session.
    private let maxInflight: Int
    /// SESSION_MAX_INFLIGHT_BYTES: at this many bytes of requests whose signatures are not
    /// all made, the loop stops reading the session. Without it one session could park
    /// SESSION_MAX_INFLIGHT requests of 64 KiB each (64 MiB) in the helper.
    private let maxInflightBytes: Int
    /// MAX_INFLIGHT_BYTES, shared by every session of the helper.
    private let budget: InflightBudget

    struct State {
        /// Requests whose replies are not all sent, in request order.
        var pending = FIFO<PendingReply>()
        /// Sequence number of `pending.first`.
        var firstPendingSequence: UInt64 = 0
        var nextSequence: UInt64 = 0
        /// Messages due to go out that no sender holds yet, oldest first.
        var outbox = FIFO<[UInt8]>()
        /// Bytes of `outbox.first` already written (streams only).
        var headOffset = 0
        /// A thread holds the messages below and is writing them to the socket; only it
        /// writes. Invariant: a non-empty outbox has a sender, or is blocked, or failed.
        var sending = false
        var inTransit = 0
        /// Bytes of `outbox` plus those in transit.
        var outboxBytes = 0
        /// Monotonic µs since when the outbox has been non-empty with the kernel taking
        /// nothing from it: a client that reads steadily but never quite catches up is not
        /// "blocked" (SESSION_BLOCKED_TIMEOUT, and the stop, measure stalls by this). Set
        /// when the kernel pushes back; while set, only the loop's POLLOUT retries.
        var blockedSince: UInt64?
        /// Signatures queued or being made for this session.
        var inflight = 0
        /// Bytes of the requests behind `inflight`.
        var inflightBytes = 0
        /// Set once: why the session must close (the loop closes it).
        var failure: String?
        var closed = false
    }

    /// What the loop must do after a worker's completion.
    enum Attention: Sendable, Equatable {
        case none
        /// The outbox became blocked or the session failed, or it fell below its bounds:
        /// the loop must look.
        case loop
    }

    /// Messages a sender took from the outbox, to write unlocked.
    private struct Batch {
        var messages: [[UInt8]]
        /// Bytes of `messages[0]` already written (streams).
        var headOffset: Int
    }

    private enum SendOutcome {
        case sent
        /// The kernel took only `written` bytes of the message (0 for a datagram).
        case wouldBlock(written: Int)
        case failed(String)
    }

    init(socket: SocketHandle, isStream: Bool, maxMessages: Int, maxBytes: Int, maxInflight: Int, maxInflightBytes: Int,
         budget: InflightBudget) {
        self.socket = socket
        self.isStream = isStream
        self.maxMessages = maxMessages
        self.maxBytes = maxBytes
        self.maxInflight = maxInflight
        self.maxInflightBytes = maxInflightBytes
        self.budget = budget
        state = Locked(State())
    }

    /// Reserves the reply slots of a new request; returns its sequence number.
    func open(_ reply: PendingReply) -> UInt64 {
        let (sequence, batch) = state.withLock { s in
            let sequence = s.nextSequence
            s.nextSequence += 1
            s.inflight += reply.missing
            if reply.missing > 0 {
                s.inflightBytes += reply.requestBytes
                budget.charge(reply.requestBytes)
            }
            s.pending.append(reply)
            // A request whose slots are all answered already, or the oldest one with its
            // first slots answered (refusals in a batch), has something to send now.
            queueCompleted(&s)
            return (sequence, takeBatch(&s, retryingBlocked: false))
        }
        // The loop calls this, and looks at the channel right after: no attention needed.
        if let batch { _ = deliver(batch) }
        return sequence
    }

    /// Files a signature in its slot and sends whatever is complete at the front. `.loop`
    /// also when the session falls below its in-flight bounds: the loop reads it again.
    func complete(sequence: UInt64, index: Int, reply: [UInt8]) -> Attention {
        complete(sequence: sequence, replies: [(index, reply)])
    }

    /// Files the signatures of several slots of request `sequence` (a worker's run of a
    /// batch) under one lock, and sends what is complete at the front in one go.
    func complete(sequence: UInt64, replies: [(index: Int, reply: [UInt8])]) -> Attention {
        let (attention, batch): (Attention, Batch?) = state.withLock { s in
            let wasAtBound = atBound(s)
            let wasAtOwnBound = atOwnBound(s)
            let offset = Int(bitPattern: UInt(sequence &- s.firstPendingSequence))
            var filed = 0
            for (index, reply) in replies {
                // Already answered (REQUEST_TIMEOUT, `expire`), which counted it out of
                // flight: this late signature is dropped.
                if !s.closed, offset < 0 || offset >= s.pending.count || s.pending[offset].parts[index] != nil {
                    continue
                }
                s.inflight -= 1
                guard !s.closed, s.failure == nil else { continue }
                s.pending[offset].parts[index] = reply
                s.pending[offset].missing -= 1
                filed += 1
            }
            guard filed > 0 else { return (.none, nil) }
            var budgetResumes = false
            if s.pending[offset].missing == 0 {
                s.inflightBytes -= s.pending[offset].requestBytes
                budgetResumes = budget.release(s.pending[offset].requestBytes)
            }
            if offset == 0 { queueCompleted(&s) }
            // Below its own bound again: the loop must look even if the budget still holds
            // the session, so that it files the session among those the budget holds.
            let resume = budgetResumes || (wasAtBound && !atBound(s)) || (wasAtOwnBound && !atOwnBound(s))
            return (resume || s.failure != nil ? .loop : .none, takeBatch(&s, retryingBlocked: false))
        }
        guard let batch else { return attention }
        return deliver(batch) == .loop ? .loop : attention
    }

    /// REQUEST_TIMEOUT: answers every slot of request `sequence` still missing with
    /// `failure`, so that its client is not kept waiting by a token call that hangs, and
    /// counts them out of flight. Jobs still queued for it are skipped (`isAnswered`); one
    /// already running is dropped when it completes. Returns how many slots it answered.
    func expire(sequence: UInt64, failure: [UInt8]) -> Int {
        let (answered, batch): (Int, Batch?) = state.withLock { s in
            guard !s.closed, s.failure == nil else { return (0, nil) }
            let offset = Int(bitPattern: UInt(sequence &- s.firstPendingSequence))
            guard offset >= 0, offset < s.pending.count, s.pending[offset].missing > 0 else { return (0, nil) }
            var answered = 0
            for index in s.pending[offset].parts.indices where s.pending[offset].parts[index] == nil {
                s.pending[offset].parts[index] = failure
                answered += 1
            }
            s.pending[offset].missing = 0
            s.inflight -= answered
            s.inflightBytes -= s.pending[offset].requestBytes
            _ = budget.release(s.pending[offset].requestBytes)
            if offset == 0 { queueCompleted(&s) }
            return (answered, takeBatch(&s, retryingBlocked: false))
        }
        if let batch { _ = deliver(batch) }  // the loop expires, and looks right after
        return answered
    }

    /// Whether slot `index` of request `sequence` is answered already (or the session is
    /// gone): a worker then skips the job instead of signing.
    func isAnswered(sequence: UInt64, index: Int) -> Bool {
        state.withLock { s in
            let offset = Int(bitPattern: UInt(sequence &- s.firstPendingSequence))
            return s.closed || offset < 0 || offset >= s.pending.count || s.pending[offset].parts[index] != nil
        }
    }

    /// The backpressure rule: a session is not read while it holds SESSION_MAX_INFLIGHT
    /// signatures (queued, being made, or made and not yet taken by the kernel because the
    /// client does not read) or SESSION_MAX_INFLIGHT_BYTES of unsigned requests. Counting
    /// the outbox makes a client that sends without reading wait in its own socket buffer
    /// instead of growing the helper's outbox towards SESSION_OUTBOX_BYTES. While the
    /// helper-wide budget is exhausted, a session with requests in flight is not read either.
    private func atBound(_ s: State) -> Bool {
        atOwnBound(s) || heldByBudget(s)
    }

    private func atOwnBound(_ s: State) -> Bool {
        s.inflight + s.outbox.count + s.inTransit >= maxInflight || s.inflightBytes >= maxInflightBytes
    }

    private func heldByBudget(_ s: State) -> Bool { s.inflightBytes > 0 && budget.isHolding }

    /// A push (AVAIL, PURGE, the dump): goes out between whole replies, after the replies to
    /// every request read before it. A worker may have counted and made a signature just
    /// before its key expired or was revoked; sent at once, the key's PURGE would overtake
    /// that signature, and a client (Taler's exchange, ours) rejects a signature by a key it
    /// was told is gone (dgram-transport.md §6.6).
    func push(_ message: [UInt8]) {
        let batch: Batch? = state.withLock { s in
            guard !s.closed, s.failure == nil else { return nil }
            guard !s.pending.isEmpty else {
                queue(message, &s)
                return takeBatch(&s, retryingBlocked: false)
            }
            // A slot of its own, already complete: `queueCompleted` sends it in its turn. Its
            // wait is bounded by the signatures ahead of it (SESSION_MAX_INFLIGHT).
            s.nextSequence += 1
            s.pending.append(PendingReply(parts: [message], missing: 0, trailer: nil, requestBytes: 0))
            return nil
        }
        if let batch { _ = deliver(batch) }  // the loop pushes, and looks right after
    }

    /// POLLOUT: sends queued messages until the kernel pushes back again.
    func flushOutbox() {
        let batch = state.withLock { s in takeBatch(&s, retryingBlocked: true) }
        if let batch { _ = deliver(batch) }  // the loop flushes, and looks right after
    }

    /// What the loop needs each turn: whether to poll for POLLOUT, since when the session
    /// is blocked, and why it must close, if it must. A session a sender is writing to
    /// needs no POLLOUT: the sender reports if the kernel pushes back.
    typealias Status = (wantsWrite: Bool, blockedSince: UInt64?, failure: String?, hasPending: Bool, atInflightBound: Bool,
                        heldByBudget: Bool)

    var status: Status {
        state.withLock { s in
            (!s.outbox.isEmpty && !s.sending, s.blockedSince, s.failure, !s.pending.isEmpty, atBound(s), heldByBudget(s))
        }
    }

    /// False once the session closed: a worker then skips the job instead of signing it.
    var isOpen: Bool { openFlag.load(ordering: .acquiring) }

    /// Returns true when the bytes it gives back let the helper-wide budget resume readers.
    /// A sender in the middle of its messages stops before the next one.
    func close() -> Bool {
        openFlag.store(false, ordering: .releasing)
        return state.withLock { s in
            s.closed = true
            s.pending.removeAll()
            s.outbox.removeAll()
            let resumes = budget.release(s.inflightBytes)
            s.inflightBytes = 0
            return resumes
        }
    }

    /// Moves what may go out into the outbox, in order: the oldest request's replies up to
    /// its first one not yet made, once they make a group (`PendingReply.group`) or the
    /// rest of the request; then, once it is whole, its trailer, and the requests behind it
    /// in the same way. A batch of slow signatures thus leaves as it is made, as Taler's C
    /// helper sends it, and a client that checks every reply does so while the helper signs.
    private func queueCompleted(_ s: inout State) {
        while s.failure == nil, !s.pending.isEmpty {
            // Sent whole (the default group) and not all made yet: nothing to scan for. This is
            // every completion of a quick batch but its last.
            if s.pending[0].missing > 0, s.pending[0].group == Int.max { return }
            let count = s.pending[0].parts.count
            let sent = s.pending[0].sent
            var ready = sent
            while ready < count, s.pending[0].parts[ready] != nil { ready += 1 }
            guard ready == count || ready - sent >= s.pending[0].group else { return }
            while s.failure == nil, s.pending[0].sent < ready {
                queue(s.pending[0].parts[s.pending[0].sent]!, &s)
                s.pending[0].parts[s.pending[0].sent] = []
                s.pending[0].sent += 1
            }
            guard ready == count, s.failure == nil else { return }
            let trailer = s.pending.popFirst()!.trailer
            s.firstPendingSequence += 1
            if let trailer { queue(trailer, &s) }
        }
    }

    /// Appends a message due to go out; a client that leaves too much unread fails the
    /// session (SESSION_OUTBOX_MESSAGES, SESSION_OUTBOX_BYTES).
    private func queue(_ message: [UInt8], _ s: inout State) {
        guard s.failure == nil else { return }
        s.outbox.append(message)
        s.outboxBytes += message.count
        if s.outbox.count + s.inTransit > maxMessages || s.outboxBytes > maxBytes {
            s.failure = "outbox full (\(s.outbox.count + s.inTransit) messages, \(s.outboxBytes) bytes): the client does not read"
        }
    }

    /// Under the lock: the whole outbox, and the sender's role with it, if there is
    /// something to send, no one is sending, and the kernel has not pushed back (unless the
    /// loop retries on POLLOUT).
    private func takeBatch(_ s: inout State, retryingBlocked: Bool) -> Batch? {
        guard !s.sending, !s.outbox.isEmpty, !s.closed, s.failure == nil,
              retryingBlocked || s.blockedSince == nil else { return nil }
        var messages: [[UInt8]] = []
        messages.reserveCapacity(s.outbox.count)
        while let message = s.outbox.popFirst() { messages.append(message) }
        s.sending = true
        s.inTransit = messages.count
        let batch = Batch(messages: messages, headOffset: s.headOffset)
        s.headOffset = 0
        return batch
    }

    /// The sender's work: writes `batch` unlocked, then settles under the lock and takes
    /// whatever was queued meanwhile, until nothing is left, the kernel pushes back, the
    /// send fails or the session closes. `.loop` when the loop must look: blocked (it polls
    /// for POLLOUT), failed, or below the in-flight bound again.
    private func deliver(_ first: Batch) -> Attention {
        var batch = first
        var attention = Attention.none
        while true {
            var sent = 0
            var written = batch.headOffset
            var outcome = SendOutcome.sent
            while sent < batch.messages.count {
                guard openFlag.load(ordering: .acquiring) else { break }
                let step = trySend(batch.messages, from: sent, offset: written)
                sent += step.messages
                written = step.offset
                outcome = step.outcome
                guard case .sent = outcome else { break }
            }
            let next: Batch? = state.withLock { s in
                s.sending = false
                // Closing (the flag goes first): what is left is dropped with the session.
                guard !s.closed, openFlag.load(ordering: .acquiring) else { return nil }
                let wasAtBound = atBound(s)
                let wasAtOwnBound = atOwnBound(s)
                let sentBytes = batch.messages[..<sent].reduce(0) { $0 + $1.count }
                s.outboxBytes -= sentBytes
                s.inTransit = 0
                if sent < batch.messages.count {
                    // Back to the front of the outbox, ahead of anything queued meanwhile.
                    var rest = FIFO<[UInt8]>()
                    for message in batch.messages[sent...] { rest.append(message) }
                    while let message = s.outbox.popFirst() { rest.append(message) }
                    s.outbox = rest
                    s.headOffset = written
                }
                if (wasAtBound && !atBound(s)) || (wasAtOwnBound && !atOwnBound(s)) { attention = .loop }
                switch outcome {
                case .sent:
                    if s.outbox.isEmpty { s.blockedSince = nil }
                    return takeBatch(&s, retryingBlocked: false)
                case let .wouldBlock(partial):
                    // Progress (a message, or part of one) starts the stall over.
                    if s.blockedSince == nil || sent > 0 || partial > batch.headOffset {
                        s.blockedSince = Clock.monotonicMicroseconds()
                    }
                    attention = .loop
                    return nil
                case let .failed(reason):
                    s.failure = reason
                    attention = .loop
                    return nil
                }
            }
            guard let next else { return attention }
            batch = next
        }
    }

    /// The most bytes one send gathers: a run of small replies (a batch's signatures) goes
    /// out in one call, a large one (a key dump's AVAILs) in a few.
    private static let bytesPerSend = 64 * 1024

    /// Writes a run of messages from `messages[first]`, byte `offset` of it, on: one
    /// `sendmmsg` (datagrams, a packet each) or one write of them joined (streams), without
    /// blocking and without the lock. A signature per syscall and a client wake-up per
    /// signature cost more than a Clause-Schnorr signature. Returns how many messages went
    /// out whole and how much of the next one (streams); `.sent` while the kernel took
    /// something, so the caller tries again and learns from that call if it pushes back.
    private func trySend(_ messages: [[UInt8]], from first: Int, offset: Int)
        -> (messages: Int, offset: Int, outcome: SendOutcome) {
        var end = first + 1
        var bytes = messages[first].count - offset
        while end < messages.count, end - first < UnixSocket.maximumPacketsPerSend,
              bytes + messages[end].count <= Self.bytesPerSend {
            bytes += messages[end].count
            end += 1
        }
        do throws(Errno) {
            if end == first + 1 {
                let message = messages[first]
                guard isStream else {
                    return try socket.socket.send(message, blocking: false) == .sent ? (1, 0, .sent) : (0, 0, .wouldBlock(written: 0))
                }
                let n = try socket.socket.writeSome(message, from: offset)
                if n == 0 { return (0, offset, .wouldBlock(written: offset)) }
                return offset + n == message.count ? (1, 0, .sent) : (0, offset + n, .sent)
            }
            var joined: [UInt8] = []
            joined.reserveCapacity(bytes)
            joined.append(contentsOf: messages[first][offset...])
            for message in messages[(first + 1)..<end] { joined.append(contentsOf: message) }
            guard isStream else {
                let lengths = messages[first..<end].map(\.count)
                let n = try socket.socket.sendPackets(joined, lengths: lengths)
                return n == 0 ? (0, 0, .wouldBlock(written: 0)) : (n, 0, .sent)
            }
            var n = try socket.socket.writeSome(joined, from: 0)
            if n == 0 { return (0, offset, .wouldBlock(written: offset)) }
            // Which messages the written bytes completed, and how far into the next.
            var whole = 0
            var position = offset
            while whole < end - first, n >= messages[first + whole].count - position {
                n -= messages[first + whole].count - position
                whole += 1
                position = 0
            }
            return (whole, position + n, .sent)
        } catch {
            let gone = error == .connectionRefused || error.rawValue == EPIPE || error.rawValue == ECONNRESET
            return (0, offset, .failed(gone ? "client went away" : "send failed: \(error)"))
        }
    }
}
