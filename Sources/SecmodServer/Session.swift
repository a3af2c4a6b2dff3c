import SecmodSystem

/// One client's session: its socket (connected to the client's address, so only that
/// client can send to it, and what the client leaves unread fills only this socket's
/// buffer; dgram-transport.md) and what the loop tracks about it.
final class Session {
    let id: UInt64
    /// The client's address for a datagram session; nil for a stream connection.
    let client: UnixAddress?
    let credentials: PeerCredentials?
    /// Replies and pushes; shared with the workers.
    let channel: ReplyChannel

    var closed = false
    /// True once AVAIL…SYNCED is queued: from then on the session gets every push.
    var dumped = false
    var lastActivity: UInt64

    /// A stream connection's bytes not yet forming a whole message (wire spec §2.1: messages
    /// arrive split and concatenated), and how many of them are valid.
    var streamBuffer: [UInt8] = []
    var streamFill = 0

    var isStream: Bool { client == nil }

    init(id: UInt64, channel: ReplyChannel, client: UnixAddress?, credentials: PeerCredentials?, now: UInt64) {
        self.id = id
        self.channel = channel
        self.client = client
        self.credentials = credentials
        lastActivity = now
    }

    var socket: UnixSocket { _read { yield channel.socket.socket } }
}

/// The replies owed for one request: one slot per work item, then an optional trailer.
struct PendingReply: Sendable {
    var parts: [[UInt8]?]
    var missing: Int
    let trailer: [UInt8]?
}
