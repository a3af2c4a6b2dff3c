import Foundation
import SecmodBase
import SecmodClient
import SecmodCrypto
import SecmodSystem
import SecmodWire
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `SOCKET_TYPE = stream`: the flows of Taler's own helper tests (wire.md §13.2, §13.3)
/// and the stream rules of wire.md §8, with Taler's test configurations.
@Suite(.serialized) struct StreamConformanceTests {
    /// wire.md §13.3: revocation, 3 signatures, 100 sequential, 8 parallel clients × 100.
    @Test func eddsaFlowsOfTalersTest() throws {
        let helper = try HelperProcess(.eddsa, transport: .stream)
        try helper.start()
        let client = try helper.client()
        #expect(client.keys.count == 6)
        for _ in 0..<3 {
            let victim = client.keys.randomElement()!
            var purged = false
            client.onKeyEvent = { if case .purged(victim.publicKey) = $0 { purged = true } }
            try client.revoke(publicKey: victim.publicKey)
            let deadline = Date().addingTimeInterval(10)
            while !purged && Date() < deadline { try client.waitForEvents(for: .seconds(0.25)) }
            #expect(purged)
        }
        let test: [UInt8] = [0, 0, 0, 8, 0, 0, 0, 0]
        for _ in 0..<3 {
            let (pub, sig) = try client.sign(purposeBytes: test)
            #expect(Ed25519.verify(signature: sig, message: test, publicKey: pub))
        }
        for _ in 0..<100 { _ = try client.sign(purposeBytes: test) }
        let path = helper.socketPath
        try parallel(8) { () throws(SecmodError) in
            let c = EddsaHelperClient(socketPath: path, transport: .stream)
            try c.connect(timeout: .seconds(20))
            for _ in 0..<100 { _ = try c.sign(purposeBytes: test) }
        }
        #expect(helper.stop() == 0)
    }

    /// wire.md §13.2: revocation, every key signs or refuses with 1702, 1005 for a random key,
    /// batches of 2 and 256 (two messages under 65535 bytes), 100 sequential, 8 parallel.
    @Test func rsaFlowsOfTalersTest() throws {
        let helper = try HelperProcess(.rsa(denominations: [("coin_1", "1 minute", 2048)]), transport: .stream)
        try helper.start()
        let client = try helper.rsaClient()
        #expect(client.keys.count == 6)
        for _ in 0..<3 {
            let victim = client.keys.randomElement()!
            var purged = false
            client.onKeyEvent = { if case .purged(victim.hash) = $0 { purged = true } }
            try client.revoke(hash: victim.hash)
            let deadline = Date().addingTimeInterval(20)
            while !purged && Date() < deadline { try client.waitForEvents(for: .seconds(0.25)) }
            #expect(purged)
        }
        let now = Timestamp(microseconds: Clock.wallMicroseconds())
        var signed = 0
        for key in client.keys {
            let pub = try RsaPublicKey(encoded: key.publicKey)
            let m = Array("coin".utf8) + randomBytes(32)
            do throws(SecmodError) {
                #expect(pub.verifyRaw(signature: try client.sign(hash: key.hash, blindedMessage: m), message: m))
                #expect(key.anchor <= now.adding(RelativeTime(seconds: 1)))
                signed += 1
            } catch {
                #expect(error.talerCode == 1702 && key.anchor > now, "key at \(key.anchor.seconds): \(error)")
            }
            for n in [2, 256] {
                let items = (0..<n).map { _ in RsaSignRequestItem(hash: key.hash, blindedMessage: randomBytes(200)) }
                let results = try client.batchSign(items)
                #expect(results.count == n)
                for (item, r) in zip(items, results) {
                    switch r {
                    case let .success(s): #expect(pub.verifyRaw(signature: s, message: item.blindedMessage))
                    case let .failure(e): #expect(e.talerCode == 1702 && key.anchor > now)
                    }
                }
            }
        }
        #expect(signed >= 1)
        do throws(SecmodError) { _ = try client.sign(hash: randomBytes(64), blindedMessage: Array("Hello".utf8)); Issue.record("signed with an unknown key") } catch {
            #expect(error.talerCode == 1005)
        }
        #expect(try client.batchSign([RsaSignRequestItem(hash: randomBytes(64), blindedMessage: [1])])[0].failureCode == 1005)
        let current = try #require(client.keys.first { $0.anchor <= now })
        for _ in 0..<100 { _ = try client.sign(hash: current.hash, blindedMessage: randomBytes(100)) }
        let path = helper.socketPath
        let hash = current.hash
        try parallel(8) { () throws(SecmodError) in
            let c = RsaHelperClient(socketPath: path, transport: .stream)
            try c.connect(timeout: .seconds(20))
            for _ in 0..<20 { _ = try c.sign(hash: hash, blindedMessage: randomBytes(100)) }
        }
        #expect(helper.stop() == 0)
    }

    /// wire.md §8.3: split writes are reassembled (a header split across writes included, which
    /// crashes Taler's helper, wire.md §8.7), pipelined requests are answered in order, and a
    /// violation closes that connection only.
    @Test func framingPipeliningAndViolations() throws {
        let helper = try HelperProcess(.eddsa, transport: .stream)
        try helper.start()
        let raw = try RawStream(path: helper.socketPath)
        let dump = try raw.messages(until: [0, 4, 0, 19])
        #expect(dump.count == 7)
        let purposes = (0..<20).map { EddsaSignRequest.purposeBytes(purpose: 0, body: randomBytes($0)) }
        let requests = purposes.map(EddsaSignRequest.encode(purposeBytes:))
        // All twenty in one write, then one request split byte by byte.
        try raw.write(requests.flatMap { $0 })
        for byte in requests[0] { try raw.write([byte]); usleep(500) }
        for (i, p) in (purposes + [purposes[0]]).enumerated() {
            let reply = try #require(try raw.next(), "reply \(i) missing")
            let sig = try EddsaSignature.decode(reply)
            #expect(Ed25519.verify(signature: sig.signature, message: p, publicKey: sig.publicKey), "reply \(i) out of order")
        }
        // A purpose size mismatch is answered with 26, not fatal (wire.md §5.3).
        var mismatch = requests[3]
        mismatch[11] ^= 1
        try raw.write(mismatch)
        #expect(try raw.next() == [0, 8, 0, 18, 0, 0, 0, 26])
        // Violations close only their own connection.
        let other = try helper.client()
        for bad: [UInt8] in [[0, 4, 0, 14], [0, 2, 0, 0], [0, 8, 0, 16, 0, 0, 0, 0], [0, 4, 0x12, 0x34]] {
            let victim = try RawStream(path: helper.socketPath)
            _ = try victim.messages(until: [0, 4, 0, 19])
            try victim.write(bad)
            #expect(try victim.isClosed(), "connection survived \(bad)")
            _ = try other.sign(purposeBytes: [0, 0, 0, 8, 0, 0, 0, 0])
        }
        #expect(helper.stop() == 0)
    }

    /// A stream client that stops reading fills its own outbox and is dropped; the others
    /// are served meanwhile. SIGTERM exits 0 with clients connected.
    @Test func stalledStreamClientDoesNotStallOthers() throws {
        let helper = try HelperProcess(.eddsa, transport: .stream, config: "SESSION_OUTBOX_MESSAGES = 256\nSESSION_BLOCKED_TIMEOUT = 8 s")
        try helper.start()
        let stalled = try RawStream(path: helper.socketPath)
        let good = try helper.client()
        let request = EddsaSignRequest.encode(purposeBytes: [0, 0, 0, 8, 0, 0, 0, 0])
        var slowest = 0.0
        for _ in 0..<40 {
            _ = try? stalled.writeNow(Array(repeating: request, count: 50).flatMap { $0 })
            let start = Date()
            _ = try good.sign(purposeBytes: [0, 0, 0, 8, 0, 0, 0, 0], timeout: .seconds(20))
            slowest = max(slowest, Date().timeIntervalSince(start))
        }
        // Held up until the stalled client's session closes, it would wait SESSION_BLOCKED_TIMEOUT.
        #expect(slowest < 5, "a stalled client delayed another one by \(slowest) s")
        #expect(helper.waitForLog("the client does not read"))
        #expect(helper.stop() == 0)
        #expect(!FileManager.default.fileExists(atPath: helper.socketPath))
    }

    private func parallel(_ count: Int, _ body: @escaping @Sendable () throws(SecmodError) -> Void) throws {
        let failures = Locked<[String]>([])
        let threads = try (0..<count).map { i in
            try OSThread.start(name: "par\(i)") {
                do throws(SecmodError) { try body() } catch { failures.withLock { $0.append("\(error)") } }
            }
        }
        for t in threads { t.join() }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
    }
}

/// A raw SOCK_STREAM client for framing tests.
final class RawStream {
    let handle: SocketHandle
    private var buffer = [UInt8](repeating: 0, count: 1 << 18)
    private var fill = 0

    init(path: String) throws {
        let s = try UnixSocket(.stream)
        try s.connect(to: UnixAddress(path: path))
        handle = SocketHandle(s)
    }

    func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count { offset += try handle.socket.writeSome(bytes, from: offset) }
    }

    /// Writes what the kernel takes now; throws when the helper closed the connection.
    func writeNow(_ bytes: [UInt8]) throws -> Int { try handle.socket.writeSome(bytes, from: 0) }

    /// The next whole message, waiting up to `seconds`; nil at end of stream.
    func next(seconds: Double = 5) throws -> [UInt8]? {
        while true {
            if fill >= 4, let h = MessageHeader.peek(buffer), fill >= h.size {
                let m = Array(buffer[0..<h.size])
                buffer.replaceSubrange(0..<h.size, with: [])
                buffer.append(contentsOf: [UInt8](repeating: 0, count: h.size))
                fill -= h.size
                return m
            }
            var polls = PollSet()
            polls.add(handle.socket.rawValue, .readable)
            guard try polls.wait(timeoutMilliseconds: Int32(seconds * 1000)) > 0 else { throw HelperTestError("no message within \(seconds) s") }
            guard let n = try handle.socket.readSome(into: &buffer, at: fill)?.count else { continue }
            if n == 0 { return nil }
            fill += n
        }
    }

    func messagesPatiently(until last: [UInt8], seconds: Double) throws -> [[UInt8]] {
        var out: [[UInt8]] = []
        while let m = try next(seconds: seconds) {
            out.append(m)
            if m == last { return out }
        }
        throw HelperTestError("connection closed before \(last)")
    }

    func messages(until last: [UInt8]) throws -> [[UInt8]] {
        var out: [[UInt8]] = []
        while let m = try next() {
            out.append(m)
            if m == last { return out }
        }
        throw HelperTestError("connection closed before \(last)")
    }

    /// True once the helper has closed the connection (end of stream within 5 s).
    func isClosed() throws -> Bool {
        do { while try next() != nil {} } catch let e as Errno where e.rawValue == ECONNRESET { return true }
        return true
    }
}
