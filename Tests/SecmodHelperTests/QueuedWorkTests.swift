import Foundation
import SecmodClient
import SecmodSystem
import SecmodWire
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// What is queued is not yet signed: a revocation stops every signature that has not
/// started, and a request refused before signing is not counted.
@Suite struct QueuedWorkTests {
    static let workers = 2

    private func audit(_ helper: HelperProcess) throws -> [[String: Any]] {
        let run = GnunetReferee.run(HelperProcess.binary("secmod"), ["audit", "-c", helper.configPath, "--json"])
        #expect(run.status == 0, "\(run.output)")
        return try #require(try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [[String: Any]])
    }

    private func signatures(_ rows: [[String: Any]], key: [UInt8]) -> Int? {
        rows.first { $0["key"] as? String == CrockfordBase32.encode(key) }?["signatures"] as? Int
    }

    /// An RSA helper with `WORKERS` workers and one denomination, a client that sees its key
    /// events (and revokes), the key valid now, and a raw datagram session to send batches on.
    private func rsaHelperWithSession(denomination: String, bits: Int, config: String = "") throws
        -> (HelperProcess, RsaHelperClient, RsaDenominationKey, RawClient) {
        let helper = try HelperProcess(.rsa(denominations: [(denomination, "1 minute", bits)]),
                                       config: "WORKERS = \(Self.workers)\n" + config)
        try helper.start()
        let client = try helper.rsaClient()
        let key = try #require(client.keys.first { $0.anchor.microseconds <= Clock.wallMicroseconds() })
        let session = try RawClient()
        _ = try session.handshake(socketPath: helper.socketPath, initType: 4, syncedType: 10)
        return (helper, client, key, session)
    }

    /// Another session has 2,048 signatures queued for a key when it is revoked: after
    /// the revocation only those already inside a signing call (at most WORKERS) come
    /// out signed; the rest are answered 1005, and the audit count is exactly what was
    /// handed out.
    @Test func revocationStopsQueuedSignatures() throws {
        let (helper, revoker, key, flood) = try rsaHelperWithSession(denomination: "coin_q", bits: 2048, config: "AUDIT_BLOCK = 16")
        let request = RsaSignRequest.encode(hash: key.hash, blindedMessage: [UInt8](repeating: 0x5a, count: 100))  // 256 of these fit one message
        let batches = 8
        for _ in 0..<batches { try flood.send(RsaBatchSignRequest.encode(Array(repeating: request, count: 256))) }
        // The first reply means the batches are being worked on: revoke now.
        let first = try #require(try flood.receive(seconds: 30), "no reply to the flood")
        var replies = [first.bytes]
        var purged = false
        revoker.onKeyEvent = { if case let .purged(hash) = $0, hash == key.hash { purged = true } }
        try revoker.revoke(hash: key.hash)
        while !purged { try revoker.waitForEvents(for: .seconds(1)) }
        while replies.count < batches * 256 {
            let reply = try #require(try flood.receive(seconds: 30), "reply \(replies.count) missing")
            // PURGE and the successor's AVAIL may come between replies: pushes, not replies.
            let type = MessageHeader.peek(reply.bytes)?.type
            if type == RsaMessageType.purge || type == RsaMessageType.avail { continue }
            replies.append(reply.bytes)
        }
        let types = replies.map { MessageHeader.peek($0)!.type }
        let signed = types.filter { $0 == RsaMessageType.signature }.count
        let unknown = replies.filter { (try? SignFailure.decodeCode($0)) == 1005 }.count
        #expect(signed + unknown == replies.count, "only signatures and 1005 expected")
        #expect(unknown > 1000, "the revocation did not stop the queued signatures: \(signed) signed")
        // Replies come in request order, signatures in admission order. A refusal before the
        // last signature is a job a worker had taken but not yet admitted when that signature
        // was admitted, before the revocation: each holds a worker other than the one that made
        // the last signature, so there are at most WORKERS − 1, however the scheduler delays
        // a worker (a count of signatures after the first refusal depends on how long it waits).
        let lastSignature = try #require(types.lastIndex(of: RsaMessageType.signature))
        let refusedBeforeLast = types[..<lastSignature].filter { $0 == RsaMessageType.signFailure }.count
        #expect(refusedBeforeLast <= Self.workers - 1, "\(refusedBeforeLast) refusals before the last signature")

        #expect(helper.stop() == 0)
        #expect(signatures(try audit(helper), key: key.hash) == signed, "the count is not exactly the signatures handed out")
    }

    /// A batch of RSA signatures leaves as it is made, in groups (`PendingReply.slowGroup`),
    /// not when the last is signed: the client reads the first group while the rest is still
    /// being signed, so a REVOKE sent on reading it still stops the rest (1005). Sent whole,
    /// the first reply would come after every signature, and none would be refused.
    /// RSA-4096 (about 5 ms a signature) leaves the REVOKE a margin of over 100 ms.
    @Test func aBatchsFirstRepliesLeaveWhileTheRestIsSigned() throws {
        let (helper, revoker, key, batch) = try rsaHelperWithSession(denomination: "coin_g", bits: 4096)
        let count = 96
        let request = RsaSignRequest.encode(hash: key.hash, blindedMessage: [UInt8](repeating: 0x5a, count: 512))
        try batch.send(RsaBatchSignRequest.encode(Array(repeating: request, count: count)))
        let first = try #require(try batch.receive(seconds: 60), "no reply to the batch")
        #expect(MessageHeader.peek(first.bytes)?.type == RsaMessageType.signature)
        try revoker.revoke(hash: key.hash)
        var replies = [first.bytes]
        while replies.count < count {
            let reply = try #require(try batch.receive(seconds: 60), "reply \(replies.count) missing")
            let type = MessageHeader.peek(reply.bytes)?.type
            if type == RsaMessageType.purge || type == RsaMessageType.avail { continue }
            replies.append(reply.bytes)
        }
        let signed = replies.filter { MessageHeader.peek($0)?.type == RsaMessageType.signature }.count
        let refused = replies.filter { (try? SignFailure.decodeCode($0)) == 1005 }.count
        #expect(signed + refused == count, "only signatures and 1005 expected")
        #expect(signed >= 32, "the first group is signed before the REVOKE")
        #expect(refused > 0, "every signature was made before the first reply left: \(signed) signed")
        #expect(helper.stop() == 0)
    }

    /// 1,000 requests the key cannot sign (m >= n) are answered 60 and leave the count
    /// where it was.
    @Test func unsignableRequestsAreNotCounted() throws {
        let helper = try HelperProcess(.rsa(denominations: [("coin_u", "1 minute", 1024)]), config: "AUDIT_BLOCK = 8")
        try helper.start()
        let client = try helper.rsaClient()
        let key = try #require(client.keys.first { $0.anchor.microseconds <= Clock.wallMicroseconds() })
        _ = try client.sign(hash: key.hash, blindedMessage: [1, 2, 3])
        let tooLarge = [UInt8](repeating: 0xFF, count: 128)  // above any 1024-bit modulus
        let items = Array(repeating: RsaSignRequestItem(hash: key.hash, blindedMessage: tooLarge), count: 1000)
        for result in try client.batchSign(items) {
            guard case let .failure(error) = result else { Issue.record("m >= n was signed"); continue }
            #expect(error.talerCode == 60)
        }
        client.disconnect()
        #expect(helper.stop() == 0)
        #expect(signatures(try audit(helper), key: key.hash) == 1)
    }

    /// A client that sends REVOKE and exits at once: the helper sees the hang-up together
    /// with the REVOKE, and must still act on it. (The helper is stopped meanwhile, so the
    /// two arrive in one turn whatever the timing.)
    @Test func aRevokeFollowedByExitIsNotLost() throws {
        let helper = try HelperProcess()
        try helper.start()
        let watcher = try helper.client()
        let key = try #require(watcher.keys.first)
        let raw = try RawClient()
        _ = try raw.handshake(socketPath: helper.socketPath)
        #expect(kill(helper.pid, SIGSTOP) == 0)
        try raw.send(EddsaKeyMessage.encode(type: EddsaMessageType.revoke, publicKey: key.publicKey))
        raw.close()
        #expect(kill(helper.pid, SIGCONT) == 0)
        var purged = false
        watcher.onKeyEvent = { if case let .purged(publicKey) = $0, publicKey == key.publicKey { purged = true } }
        let deadline = Date().addingTimeInterval(20)
        while !purged, Date() < deadline { try watcher.waitForEvents(for: .seconds(1)) }
        #expect(purged, "the REVOKE of a client that exited right after it was lost: \(helper.log)")
        #expect(helper.stop() == 0)
    }
}
