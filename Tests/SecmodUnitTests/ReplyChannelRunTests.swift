@testable import SecmodServer
import SecmodSystem
import Testing

/// A worker's run of a batch's signatures (`ReplyChannel.complete(sequence:replies:)`) and
/// the sends that carry many replies at once: `sendmmsg` on a session (a packet each) and
/// one write of them joined on a stream. Every reply must arrive once, whole, in order, also
/// where the kernel takes only part of a run (a small send buffer, a peer that reads late).
@Suite struct ReplyChannelRunTests {
    /// Reply `i` of request `r`: sizes from 5 to about 3,000 bytes, so that runs cross the
    /// packet count and byte bounds of one send, and stream writes end inside messages.
    private func reply(_ r: Int, _ i: Int) -> [UInt8] {
        let size = 5 + (i * 7919 + r * 104_729) % 3000
        return [UInt8(r & 0xFF), UInt8(i >> 8), UInt8(i & 0xFF)] + [UInt8](repeating: UInt8(truncatingIfNeeded: i &* 31 &+ r), count: size - 3)
    }

    /// Completes `requests` batches of `items` replies in runs of 32, the later runs of each
    /// batch first, flushing on POLLOUT as the loop does, while a reader takes what arrives.
    private func deliver(requests: Int, items: Int, stream: Bool, sendBuffer: Int,
                         read: @escaping @Sendable (SocketHandle, Int) -> [[UInt8]]) throws -> [[UInt8]] {
        let pair = try UnixSocket.pair(stream ? .stream : .seqpacket)
        try pair.kept.setSendBufferSize(sendBuffer)
        let peer = SocketHandle(pair.passed)
        let c = testChannel(pair.kept, stream: stream)
        let sequences = (0..<requests).map { _ in
            c.open(PendingReply(parts: [[UInt8]?](repeating: nil, count: items), missing: items, trailer: nil, requestBytes: 10))
        }
        let total = requests * items
        let received = Locked<[[UInt8]]>([])
        let reader = try OSThread.start(name: "test-reader") { received.withLock { $0 = read(peer, total) } }
        for (r, sequence) in sequences.enumerated() {
            for start in stride(from: 0, to: items, by: 32).reversed() {
                let run = (start..<min(start + 32, items)).map { (index: $0, reply: reply(r, $0)) }
                _ = c.complete(sequence: sequence, replies: run)
            }
        }
        let deadline = Clock.monotonicMicroseconds() + 20_000_000
        while c.status.wantsWrite, Clock.monotonicMicroseconds() < deadline {
            var polls = PollSet()
            polls.add(c.socket.socket.rawValue, .writable)
            _ = try polls.wait(timeoutMilliseconds: 1000)
            c.flushOutbox()
        }
        reader.join()
        #expect(!c.status.hasPending && !c.status.wantsWrite && c.status.failure == nil)
        return received.withLock { $0 }
    }

    /// Waits up to 5 s for something to read: a channel that loses a reply fails the test
    /// instead of hanging it.
    private static func readable(_ peer: SocketHandle) -> Bool {
        var polls = PollSet()
        polls.add(peer.socket.rawValue, .readable)
        return ((try? polls.wait(timeoutMilliseconds: 5000)) ?? 0) > 0
    }

    /// Where the received messages first differ from the expected ones (a readable failure
    /// instead of two megabytes of arrays).
    private static func expectSame(_ got: [[UInt8]], _ want: [[UInt8]], sourceLocation: SourceLocation = #_sourceLocation) {
        let differ = zip(got, want).enumerated().first { $0.element.0 != $0.element.1 }?.offset
        #expect(differ == nil, "message \(differ ?? -1) differs", sourceLocation: sourceLocation)
        #expect(got.count == want.count, "\(got.count) messages arrived, \(want.count) were sent", sourceLocation: sourceLocation)
    }

    /// The reader of a session: `total` packets, each one message.
    private static func packets(_ peer: SocketHandle, _ total: Int) -> [[UInt8]] {
        var got: [[UInt8]] = []
        while got.count < total, readable(peer), let d = try? peer.socket.receive(capacity: 4096, blocking: false) {
            got.append(d.bytes)
        }
        return got
    }

    private func expected(requests: Int, items: Int) -> [[UInt8]] {
        (0..<requests).flatMap { r in (0..<items).map { reply(r, $0) } }
    }

    @Test func aRunOnASessionArrivesAsOnePacketPerReplyInOrder() throws {
        let got = try deliver(requests: 3, items: 256, stream: false, sendBuffer: 1 << 22, read: Self.packets)
        Self.expectSame(got, expected(requests: 3, items: 256))
    }

    /// A send buffer of a few packets: `sendmmsg` takes part of a run, the rest waits for
    /// POLLOUT, and nothing is lost, doubled or reordered.
    @Test func aRunOnASessionThatTheKernelTakesInPartsStaysWholeAndInOrder() throws {
        let got = try deliver(requests: 4, items: 200, stream: false, sendBuffer: 8192, read: Self.packets)
        Self.expectSame(got, expected(requests: 4, items: 200))
    }

    /// On a stream, runs go out joined; with a small buffer a write ends inside a message,
    /// and the next write must start where it ended.
    @Test func aRunOnAStreamThatTheKernelTakesInPartsIsTheExactByteSequence() throws {
        let want = expected(requests: 4, items: 256)
        let got = try deliver(requests: 4, items: 256, stream: true, sendBuffer: 4096) { peer, _ in
            let bytes = want.reduce(0) { $0 + $1.count }
            var buffer = [UInt8](repeating: 0, count: bytes)
            var fill = 0
            while fill < bytes, Self.readable(peer), let (n, _) = try? peer.socket.readSome(into: &buffer, at: fill), n > 0 {
                fill += n
            }
            // Cut the stream where the expected messages end.
            var messages: [[UInt8]] = []
            var offset = 0
            for message in want where offset + message.count <= fill {
                messages.append(Array(buffer[offset..<offset + message.count]))
                offset += message.count
            }
            return messages
        }
        Self.expectSame(got, want)
    }

    /// A run whose slots were answered already (REQUEST_TIMEOUT) files only the rest.
    @Test func aRunFilesOnlyTheSlotsStillOpen() throws {
        let pair = try UnixSocket.pair(.seqpacket)
        let c = testChannel(pair.kept, stream: false)
        let sequence = c.open(PendingReply(parts: [nil, nil, nil], missing: 3, trailer: nil, requestBytes: 10))
        _ = c.complete(sequence: sequence, index: 1, reply: [0xB1])
        _ = c.complete(sequence: sequence, replies: [(0, [0xA0]), (1, [0xEE]), (2, [0xA2])])
        var got: [[UInt8]] = []
        while let d = try pair.passed.receive(capacity: 64, blocking: false) { got.append(d.bytes) }
        #expect(got == [[0xA0], [0xB1], [0xA2]])
        #expect(!c.status.hasPending)
    }
}
