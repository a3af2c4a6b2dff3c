@testable import SecmodServer
import SecmodSystem
import Testing

/// The order of what leaves one session (`ReplyChannel`, dgram-transport.md §6.6): replies
/// in request order, and a push after the replies to every request read before it, so that
/// a PURGE never overtakes a signature made by the key it purges.
@Suite struct ReplyChannelOrderTests {
    private func request(signatures: Int) -> PendingReply {
        PendingReply(parts: [[UInt8]?](repeating: nil, count: signatures), missing: signatures, trailer: nil, requestBytes: 10)
    }

    @Test func aPushWithNothingPendingGoesAtOnce() throws {
        let pair = try UnixSocket.pair(.seqpacket)
        let c = testChannel(pair.kept)
        c.push([0xA0])
        #expect(try drainMessages(pair.passed) == [[0xA0]])
    }

    @Test func aPurgeWaitsForTheSignaturesOfRequestsReadBeforeIt() throws {
        let pair = try UnixSocket.pair(.seqpacket)
        let c = testChannel(pair.kept)
        let first = c.open(request(signatures: 2))
        let second = c.open(request(signatures: 1))
        c.push([0xA1])  // the key expired or was revoked while both were queued
        let third = c.open(request(signatures: 1))
        #expect(try drainMessages(pair.passed).isEmpty, "the push must not overtake the replies ahead of it")
        // Out of order: the third request and half of the first finish first.
        _ = c.complete(sequence: third, index: 0, reply: [3])
        _ = c.complete(sequence: first, index: 1, reply: [0x12])
        #expect(try drainMessages(pair.passed).isEmpty)
        _ = c.complete(sequence: first, index: 0, reply: [0x11])
        #expect(try drainMessages(pair.passed) == [[0x11], [0x12]])
        _ = c.complete(sequence: second, index: 0, reply: [2])
        // The second reply, then the push, then the request read after the push.
        #expect(try drainMessages(pair.passed) == [[2], [0xA1], [3]])
        #expect(!c.status.hasPending)
        c.push([0xA2])
        #expect(try drainMessages(pair.passed) == [[0xA2]])
    }

    @Test func pushesKeepTheirOwnOrder() throws {
        let pair = try UnixSocket.pair(.seqpacket)
        let c = testChannel(pair.kept)
        let only = c.open(request(signatures: 1))
        c.push([0xB1])
        c.push([0xB2])
        _ = c.complete(sequence: only, index: 0, reply: [1])
        #expect(try drainMessages(pair.passed) == [[1], [0xB1], [0xB2]])
    }

    /// Senders write outside the lock, one at a time: with four workers completing requests
    /// out of order, the loop pushing between them and the peer reading all the while,
    /// every message arrives exactly once and in request order (the test flushes on POLLOUT
    /// where the kernel pushed back, as the loop would).
    /// Six rounds: a race that breaks the order shows in some of them (a second sender
    /// allowed beside the first made about two runs of this test in five fail).
    @Test(.serialized, arguments: 0..<6) func concurrentSendersKeepTheOrder(round: Int) throws {
        let pair = try UnixSocket.pair(.seqpacket)
        let peer = SocketHandle(pair.passed)
        let c = testChannel(pair.kept)
        let count = 20_000
        var sequences: [UInt64] = []
        for i in 0..<count {
            sequences.append(c.open(request(signatures: 1)))
            if i % 2500 == 2499 { c.push([0xFF, UInt8(i / 2500)]) }
        }
        let received = Locked<[[UInt8]]>([])
        let reader = try OSThread.start(name: "test-reader") {
            var got: [[UInt8]] = []
            // count replies plus 8 pushes; a blocking receive, and the channel never stalls.
            while got.count < count + 8, let d = try? peer.socket.receive(capacity: 64, blocking: true) { got.append(d.bytes) }
            received.withLock { $0 = got }
        }
        let order = sequences.enumerated().map { ($0.offset, $0.element) }
        // Four workers, each with every fourth request, in nearly ascending order (shuffled
        // within small windows): replies become sendable all the time, from every thread.
        let quarters = (0..<4).map { k in
            let mine = order.filter { $0.0 % 4 == k }
            return stride(from: 0, to: mine.count, by: 8).flatMap { mine[$0..<min($0 + 8, mine.count)].shuffled() }
        }
        let workers = try quarters.enumerated().map { n, half in
            try OSThread.start(name: "test-worker-\(n)") {
                for (i, sequence) in half {
                    _ = c.complete(sequence: sequence, index: 0, reply: [UInt8(i >> 8), UInt8(i & 0xFF)])
                }
            }
        }
        for w in workers { w.join() }
        // The loop's part: where the kernel pushed back, flush on POLLOUT.
        while c.status.wantsWrite {
            var polls = PollSet()
            polls.add(c.socket.socket.rawValue, .writable)
            _ = try polls.wait(timeoutMilliseconds: 1000)
            c.flushOutbox()
        }
        reader.join()
        var expected: [[UInt8]] = []
        for i in 0..<count {
            expected.append([UInt8(i >> 8), UInt8(i & 0xFF)])
            if i % 2500 == 2499 { expected.append([0xFF, UInt8(i / 2500)]) }
        }
        #expect(received.withLock { $0 } == expected)
        #expect(!c.status.hasPending && !c.status.wantsWrite)
    }
}
