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
final class ReplyChannel: @unchecked Sendable {
    let socket: SocketHandle
    /// A stream socket takes part of a message when its buffer is nearly full; a datagram
    /// socket takes all or nothing.
    let isStream: Bool
    private let state: Locked<State>
    /// Cleared by `close`, read by workers before they sign without taking the lock.
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
        /// Messages the kernel would not take yet, oldest first.
        var outbox = FIFO<[UInt8]>()
        /// Bytes of `outbox.first` already written (streams only).
        var headOffset = 0
        var outboxBytes = 0
        /// Monotonic µs since when the outbox has been non-empty with the kernel taking
        /// nothing from it: a client that reads steadily but never quite catches up is not
        /// "blocked" (SESSION_BLOCKED_TIMEOUT, and the stop, measure stalls by this).
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
        /// The outbox became non-empty or the session failed: the loop must look.
        case loop
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
        state.withLock { s in
            let sequence = s.nextSequence
            s.nextSequence += 1
            s.inflight += reply.missing
            if reply.missing > 0 {
                s.inflightBytes += reply.requestBytes
                budget.charge(reply.requestBytes)
            }
            s.pending.append(reply)
            if reply.missing == 0 { flushCompleted(&s) }
            return sequence
        }
    }

    /// Files a signature in its slot and sends whatever is complete at the front. `.loop`
    /// also when the session falls below its in-flight bounds: the loop reads it again.
    func complete(sequence: UInt64, index: Int, reply: [UInt8]) -> Attention {
        state.withLock { s in
            let wasAtBound = atBound(s)
            let wasAtOwnBound = atOwnBound(s)
            s.inflight -= 1
            guard !s.closed, s.failure == nil else { return .none }
            let offset = Int(sequence &- s.firstPendingSequence)
            guard offset >= 0, offset < s.pending.count else { return .none }
            s.pending[offset].parts[index] = reply
            s.pending[offset].missing -= 1
            var budgetResumes = false
            if s.pending[offset].missing == 0 {
                s.inflightBytes -= s.pending[offset].requestBytes
                budgetResumes = budget.release(s.pending[offset].requestBytes)
            }
            let wasBlocked = !s.outbox.isEmpty
            if offset == 0 { flushCompleted(&s) }
            // Below its own bound again: the loop must look even if the budget still holds
            // the session, so that it files the session among those the budget holds.
            let resume = budgetResumes || (wasAtBound && !atBound(s)) || (wasAtOwnBound && !atOwnBound(s))
            return (resume || s.failure != nil || (!wasBlocked && !s.outbox.isEmpty)) ? .loop : .none
        }
    }

    /// The backpressure rule: a session is not read while it holds SESSION_MAX_INFLIGHT
    /// signatures (queued, being made, or made and waiting in the outbox because the client
    /// does not read) or SESSION_MAX_INFLIGHT_BYTES of unsigned requests. Counting the
    /// outbox makes a client that sends without reading wait in its own socket buffer
    /// instead of growing the helper's outbox towards SESSION_OUTBOX_BYTES. While the
    /// helper-wide budget is exhausted, a session with requests in flight is not read either.
    private func atBound(_ s: State) -> Bool {
        atOwnBound(s) || heldByBudget(s)
    }

    private func atOwnBound(_ s: State) -> Bool {
        s.inflight + s.outbox.count >= maxInflight || s.inflightBytes >= maxInflightBytes
    }

    private func heldByBudget(_ s: State) -> Bool { s.inflightBytes > 0 && budget.isHolding }

    /// A push (AVAIL, PURGE, the dump): goes out between whole replies, after the replies to
    /// every request read before it. A worker may have counted and made a signature just
    /// before its key expired or was revoked; sent at once, the key's PURGE would overtake
    /// that signature, and a client (Taler's exchange, ours) rejects a signature by a key it
    /// was told is gone (dgram-transport.md §6.6).
    func push(_ message: [UInt8]) {
        state.withLock { s in
            guard !s.closed, s.failure == nil else { return }
            guard !s.pending.isEmpty else {
                send(message, &s)
                return
            }
            // A slot of its own, already complete: `flushCompleted` sends it in its turn. Its
            // wait is bounded by the signatures ahead of it (SESSION_MAX_INFLIGHT).
            s.nextSequence += 1
            s.pending.append(PendingReply(parts: [message], missing: 0, trailer: nil, requestBytes: 0))
        }
    }

    /// POLLOUT: sends queued messages until the kernel pushes back again.
    func flushOutbox() {
        state.withLock { s in
            guard !s.closed else { return }
            let (countBefore, headBefore) = (s.outbox.count, s.headOffset)
            while let message = s.outbox.first {
                guard trySend(message, from: s.headOffset, &s) else {
                    if s.outbox.count != countBefore || s.headOffset != headBefore {
                        s.blockedSince = Clock.monotonicMicroseconds()  // progress: the stall starts again
                    }
                    return
                }
                _ = s.outbox.popFirst()
                s.outboxBytes -= message.count
                s.headOffset = 0
            }
            s.blockedSince = nil
        }
    }

    /// What the loop needs each turn: whether to poll for POLLOUT, since when the session
    /// is blocked, and why it must close, if it must.
    var status: (wantsWrite: Bool, blockedSince: UInt64?, failure: String?, hasPending: Bool, atInflightBound: Bool,
                 heldByBudget: Bool) {
        state.withLock { s in
            (!s.outbox.isEmpty, s.blockedSince, s.failure, !s.pending.isEmpty, atBound(s), heldByBudget(s))
        }
    }

    /// False once the session closed: a worker then skips the job instead of signing it.
    var isOpen: Bool { openFlag.load(ordering: .acquiring) }

    /// Returns true when the bytes it gives back let the helper-wide budget resume readers.
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

    private func flushCompleted(_ s: inout State) {
        while let head = s.pending.first, head.missing == 0, s.failure == nil {
            _ = s.pending.popFirst()
            s.firstPendingSequence += 1
            for part in head.parts { send(part!, &s) }
            if let trailer = head.trailer { send(trailer, &s) }
        }
    }

    /// Sends now if nothing waits and the kernel takes it; else queues behind the outbox.
    private func send(_ message: [UInt8], _ s: inout State) {
        if s.outbox.isEmpty {
            s.headOffset = 0
            if trySend(message, from: 0, &s) { return }
        }
        guard s.failure == nil else { return }
        s.outbox.append(message)
        s.outboxBytes += message.count
        if s.blockedSince == nil { s.blockedSince = Clock.monotonicMicroseconds() }
        if s.outbox.count > maxMessages || s.outboxBytes > maxBytes {
            s.failure = "outbox full (\(s.outbox.count) messages, \(s.outboxBytes) bytes): the client does not read"
        }
    }

    /// True if the kernel took all of the message from `offset` on; false if it would
    /// block (a stream's partial write moves `headOffset`) or the send failed (then
    /// `failure` says why).
    private func trySend(_ message: [UInt8], from offset: Int, _ s: inout State) -> Bool {
        do throws(Errno) {
            guard isStream else { return try socket.socket.send(message, blocking: false) == .sent }
            var written = offset
            while written < message.count {
                let n = try socket.socket.writeSome(message, from: written)
                if n == 0 {
                    s.headOffset = written
                    return false
                }
                written += n
            }
            return true
        } catch {
            let gone = error == .connectionRefused || error.rawValue == EPIPE || error.rawValue == ECONNRESET
            s.failure = gone ? "client went away" : "send failed: \(error)"
            return false
        }
    }
}
