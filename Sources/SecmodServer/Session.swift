import SecmodSystem

/// One client's session socket and everything the loop tracks for it.
///
/// The socket is connected to the client's address, so only that client can send to it,
/// and what the client leaves unread fills only this socket's buffer (dgram-transport.md).
final class Session {
    let id: UInt64
    let socket: UnixSocket
    let client: UnixAddress
    let credentials: PeerCredentials?

    var closed = false
    /// True once AVAIL…SYNCED is queued: from then on the session gets every push.
    var dumped = false
    /// Messages the kernel would not take yet, oldest first.
    var outbox = FIFO<[UInt8]>()
    var outboxBytes = 0
    /// Monotonic µs since when the outbox has been non-empty.
    var blockedSince: UInt64?
    var lastActivity: UInt64

    /// Requests whose replies are not all sent, in request order.
    var pending = FIFO<PendingReply>()
    /// Sequence number of `pending.first`.
    var firstPendingSequence: UInt64 = 0
    var nextSequence: UInt64 = 0

    init(id: UInt64, socket: consuming UnixSocket, client: UnixAddress, credentials: PeerCredentials?, now: UInt64) {
        self.id = id
        self.socket = socket
        self.client = client
        self.credentials = credentials
        lastActivity = now
    }
}

/// The replies owed for one request: one slot per work item, then an optional trailer.
struct PendingReply: Sendable {
    var parts: [[UInt8]?]
    var missing: Int
    let trailer: [UInt8]?
}

/// Where a worker's result goes: which session, which request, which slot.
struct ReplySlot: Sendable {
    let session: UInt64
    let sequence: UInt64
    let index: Int
}

