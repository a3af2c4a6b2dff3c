import SecmodSystem

/// One client's session and what the loop tracks about it.
///
/// A datagram session is the helper's end of a `SOCK_SEQPACKET` socket pair that the client
/// made and passed in its INIT (dgram-transport.md, "Handshake"): it has no name, so nobody
/// but the holder of the other end can reach it, and what the client leaves unread fills
/// only this socket's buffer. A stream session is an accepted connection.
final class Session {
    let id: UInt64
    let isStream: Bool
    /// Who opened the session: the INIT's `SCM_CREDENTIALS`, or the connection's
    /// `SO_PEERCRED`. Every later message must come from the same uid.
    let owner: PeerCredentials
    /// Replies and pushes; shared with the workers.
    let channel: ReplyChannel

    var closed = false
    /// True once AVAIL…SYNCED is queued: from then on the session gets every push.
    var dumped = false

    /// A stream connection's partial message (wire.md §2.1: messages arrive split and
    /// concatenated): sized to the message once its header is in (to the header before),
    /// filled to `streamFill`; empty, and unallocated, between messages.
    var streamBuffer: [UInt8] = []
    var streamFill = 0

    init(id: UInt64, channel: ReplyChannel, isStream: Bool, owner: PeerCredentials) {
        self.id = id
        self.channel = channel
        self.isStream = isStream
        self.owner = owner
    }

    var socket: UnixSocket { _read { yield channel.socket.socket } }
}

/// The replies owed for one request: one slot per work item, then an optional trailer.
struct PendingReply: Sendable {
    /// nil: not made yet. A slot already sent holds an empty message: answered, its bytes
    /// released.
    var parts: [[UInt8]?]
    var missing: Int
    let trailer: [UInt8]?
    /// Size of the request: counts against SESSION_MAX_INFLIGHT_BYTES until every
    /// signature it asked for is made.
    let requestBytes: Int
    /// Slots already queued to go out, from the first: only the oldest request sends part
    /// of its replies.
    var sent = 0
    /// Replies go out as they are made in groups of at least this many (`ReplyChannel.queueCompleted`);
    /// the last group of a request may be smaller. By default a request's replies leave
    /// together, when all are made.
    var group = Int.max

    /// The group for batches of slow signatures (RSA, a token's). Sent only when the whole
    /// batch was made, an RSA batch of 256 left one core idle 8% of the time: the helper
    /// waited for the client to check the replies of one message before it sent the next
    /// part of the batch, and the client had waited while the helper signed. Sent one by
    /// one, the client woke for every reply, which cost 7–10 µs of kernel time per
    /// signature in the helper and 6–10 µs in the client. In groups of 32 (a few
    /// milliseconds of RSA) the idle time falls to 2–3% for no measurable cost. Quick
    /// signatures keep the default: their batch is made in about a millisecond.
    static let slowGroup = 32
}
