@testable import SecmodServer
import SecmodSystem
import Testing

/// The backpressure rule of one session (`ReplyChannel`), without an engine: when the loop
/// must stop reading a session, and when a worker's completion must wake it to read again.
@Suite struct ReplyChannelBoundTests {
    private func channel(_ kept: consuming UnixSocket, maxInflight: Int, maxInflightBytes: Int) -> ReplyChannel {
        ReplyChannel(socket: SocketHandle(kept), isStream: false, maxMessages: 1 << 20, maxBytes: 1 << 30,
                     maxInflight: maxInflight, maxInflightBytes: maxInflightBytes)
    }

    private func request(signatures: Int, bytes: Int) -> PendingReply {
        PendingReply(parts: [[UInt8]?](repeating: nil, count: signatures), missing: signatures, trailer: nil,
                     requestBytes: bytes)
    }

    @Test func signaturesInFlightStopReadingAndTheCompletionBelowTheBoundWakesTheLoop() throws {
        let pair = try UnixSocket.pair(.seqpacket)
        let c = channel(pair.kept, maxInflight: 4, maxInflightBytes: 1 << 20)
        let first = c.open(request(signatures: 3, bytes: 100))
        #expect(!c.status.atInflightBound)
        let second = c.open(request(signatures: 1, bytes: 100))
        #expect(c.status.atInflightBound)
        // The first completion takes the session below the bound: the loop must hear of it.
        #expect(c.complete(sequence: second, index: 0, reply: [1]) == .loop)
        #expect(!c.status.atInflightBound)
        // Below the bound, a completion whose reply the kernel takes needs no loop.
        #expect(c.complete(sequence: first, index: 0, reply: [2]) == .none)
    }

    @Test func requestBytesStopReadingUntilTheirLastSignatureIsMade() throws {
        let pair = try UnixSocket.pair(.seqpacket)
        let c = channel(pair.kept, maxInflight: 1024, maxInflightBytes: 65536)
        let small = c.open(request(signatures: 2, bytes: 40_000))
        #expect(!c.status.atInflightBound)
        let large = c.open(request(signatures: 1, bytes: 30_000))
        #expect(c.status.atInflightBound)
        // Half of the first request is signed: its bytes still count.
        #expect(c.complete(sequence: small, index: 0, reply: [1]) == .none)
        #expect(c.status.atInflightBound)
        #expect(c.complete(sequence: small, index: 1, reply: [2]) == .loop)
        #expect(!c.status.atInflightBound)
        _ = c.complete(sequence: large, index: 0, reply: [3])
    }

    /// A client that sends without reading: its replies wait in the outbox, and they count,
    /// so the helper stops reading it instead of growing the outbox towards its byte bound.
    @Test func repliesTheClientDoesNotReadCountAgainstTheBound() throws {
        let pair = try UnixSocket.pair(.seqpacket)
        try pair.kept.setSendBufferSize(4096)
        let peer = pair.passed
        let c = channel(pair.kept, maxInflight: 8, maxInflightBytes: 1 << 20)
        let sequences = (0..<64).map { _ in c.open(request(signatures: 1, bytes: 10)) }
        for sequence in sequences { _ = c.complete(sequence: sequence, index: 0, reply: [UInt8](repeating: 7, count: 1000)) }
        #expect(c.status.wantsWrite, "a 4 KiB send buffer cannot hold 64 KB of replies")
        #expect(c.status.atInflightBound, "no signature is in flight, but the unread replies are")
        var received = 0
        var buffer = [UInt8](repeating: 0, count: 2048)
        while c.status.wantsWrite {
            while try peer.receive(into: &buffer, blocking: false) != nil { received += 1 }
            c.flushOutbox()
        }
        while try peer.receive(into: &buffer, blocking: false) != nil { received += 1 }
        #expect(received == 64)
        #expect(!c.status.atInflightBound)
    }
}
