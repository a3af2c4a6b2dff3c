import Foundation
import SecmodBase
import SecmodClient
import SecmodCrypto
import SecmodKeys
import SecmodSystem
import SecmodWire
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The EdDSA helper as a process: real sockets, files, signals and crypto.
@Suite(.serialized) struct EddsaHelperTests {
    @Test func announcementsCarryValidModuleSignatures() throws {
        let helper = try HelperProcess()
        try helper.start()
        let raw = try RawClient()
        let dump = try raw.handshake(socketPath: helper.socketPath)
        #expect(dump.last == [0, 4, 0, 0x13])
        let avails = try dump.dropLast().map { try EddsaKeyAvailable.decode($0) }
        // wire.md §9.3: DURATION 1 minute, OVERLAP 1 s, LOOKAHEAD 5 minutes → 6 keys, 59 s apart.
        #expect(avails.count == 6)
        #expect(zip(avails, avails.dropFirst()).allSatisfy { $1.anchor.seconds - $0.anchor.seconds == 59 })
        let module = try SecurityModuleKey.load(path: helper.securityModuleKeyPath, token: nil).publicKey
        for a in avails {
            #expect(a.securityModulePublicKey == module)
            #expect(a.anchor.isWholeSeconds)
            #expect(a.duration == RelativeTime(seconds: 60))
            // Rebuilt independently from the wire.md §7.1 layout, not from our encoder.
            var signed: [UInt8] = [0, 0, 0, 56, 0, 0, 0x04, 0xe3] + a.exchangePublicKey
            for v in [a.anchor.microseconds, a.duration.microseconds] {
                for shift in stride(from: 56, through: 0, by: -8) { signed.append(UInt8((v >> UInt64(shift)) & 0xff)) }
            }
            #expect(Ed25519.verify(signature: a.securityModuleSignature, message: signed, publicKey: module))
        }
        #expect(helper.stop() == 0)
    }

    @Test func signsWithTheOldestValidKey() throws {
        let helper = try HelperProcess()
        try helper.start()
        let client = try helper.client()
        let purpose = EddsaSignRequest.purposeBytes(purpose: 0, body: Array("hello taler".utf8))
        let (pub, sig) = try client.sign(purposeBytes: purpose)
        #expect(Ed25519.verify(signature: sig, message: purpose, publicKey: pub))
        #expect(!Ed25519.verify(signature: sig, message: purpose + [0], publicKey: pub))
        #expect(pub == client.keys.first?.publicKey)
        // Taler's conformance test: an 8-byte purpose {size = 8, purpose = 0} signs.
        let minimal: [UInt8] = [0, 0, 0, 8, 0, 0, 0, 0]
        let (pub2, sig2) = try client.sign(purposeBytes: minimal)
        #expect(Ed25519.verify(signature: sig2, message: minimal, publicKey: pub2))
        #expect(helper.stop() == 0)
    }

    @Test func revokePurgesThenAnnouncesASuccessorAndNeverSignsAgain() throws {
        let helper = try HelperProcess()
        try helper.start()
        let client = try helper.client()
        var events: [EddsaKeyEvent] = []
        client.onKeyEvent = { events.append($0) }
        let victim = client.keys[0]
        try client.revoke(publicKey: victim.publicKey)
        let deadline = Date().addingTimeInterval(10)
        while events.count < 2 && Date() < deadline { try client.waitForEvents(for: .seconds(0.2)) }
        #expect(events.count == 2)
        #expect(events.first == .purged(publicKey: victim.publicKey))
        guard case let .available(successor) = events.last else { Issue.record("no AVAIL after PURGE"); return }
        #expect(successor.anchor == victim.anchor)
        #expect(successor.publicKey != victim.publicKey)
        // The revoked key signs no more: the oldest valid key is now its successor.
        let (pub, _) = try client.sign(purposeBytes: [0, 0, 0, 8, 0, 0, 0, 0])
        #expect(pub == successor.publicKey)
        // A new client never hears of the revoked key.
        let fresh = try helper.client()
        #expect(!fresh.keys.contains { $0.publicKey == victim.publicKey })
        #expect(fresh.keys.contains { $0.publicKey == successor.publicKey })
        // Revoking it again is ignored: no event, nothing breaks.
        events.removeAll()
        try client.revoke(publicKey: victim.publicKey)
        try client.waitForEvents(for: .seconds(0.5))
        #expect(events.isEmpty)
        // After a restart the revoked key stays gone.
        #expect(helper.stop() == 0)
        try helper.start()
        let after = try helper.client()
        #expect(!after.keys.contains { $0.publicKey == victim.publicKey })
        #expect(after.keys.contains { $0.publicKey == successor.publicKey })
        #expect(helper.stop() == 0)
    }

    @Test func restartKeepsModuleKeyAndAnnouncesIdenticalBytes() throws {
        let helper = try HelperProcess()
        try helper.start()
        let before = try RawClient().handshake(socketPath: helper.socketPath)
        let moduleFile = try Data(contentsOf: URL(fileURLWithPath: helper.securityModuleKeyPath))
        #expect(helper.stop() == 0)
        try helper.start()
        let after = try RawClient().handshake(socketPath: helper.socketPath)
        #expect(before == after)
        #expect(try Data(contentsOf: URL(fileURLWithPath: helper.securityModuleKeyPath)) == moduleFile)
        #expect(helper.stop() == 0)
    }

    @Test func filesAndSocketHaveTheirModes() throws {
        let helper = try HelperProcess()
        try helper.start()
        #expect(try FileSystem.status(helper.socketPath, followLinks: false).permissions == 0o620)
        #expect(try FileSystem.status(helper.socketPath, followLinks: false).isSocket)
        #expect(try FileSystem.status(helper.securityModuleKeyPath).permissions == 0o400)
        let files = try FileSystem.listDirectory(helper.keyDirectory).filter { $0 != KeyDirectory.lockFileName }
        #expect(try FileSystem.status(helper.keyDirectory + "/" + KeyDirectory.lockFileName).permissions == 0o600)
        #expect(files.count == 6)
        for f in files {
            let st = try FileSystem.status(helper.keyDirectory + "/" + f)
            #expect(st.permissions == 0o400)
            // A seed, or the reference to a key in a token.
            #expect(st.size == (helper.token == nil ? 32 : st.size))
            #expect(helper.token == nil || KeyReference.isPlausibleSize(st.size))
        }
        #expect(try FileSystem.status(helper.keyDirectory).permissions == 0o700)
        #expect(helper.stop() == 0)
    }

    @Test func sigtermExitsZeroAndRemovesTheSocketWithClientsConnected() throws {
        let helper = try HelperProcess()
        try helper.start()
        let client = try helper.client()
        _ = try client.sign(purposeBytes: [0, 0, 0, 8, 0, 0, 0, 0])
        #expect(helper.stop() == 0)
        #expect(!FileManager.default.fileExists(atPath: helper.socketPath))
        #expect(helper.log.contains("stopped"))
    }

    @Test func clientReconnectsAfterHelperRestart() throws {
        let helper = try HelperProcess()
        try helper.start()
        let client = try helper.client()
        _ = try client.sign(purposeBytes: [0, 0, 0, 8, 0, 0, 0, 0])
        #expect(helper.stop() == 0)
        try helper.start()
        let (pub, sig) = try client.sign(purposeBytes: [0, 0, 0, 8, 0, 0, 0, 0], timeout: .seconds(20))
        #expect(Ed25519.verify(signature: sig, message: [0, 0, 0, 8, 0, 0, 0, 0], publicKey: pub))
        #expect(helper.stop() == 0)
    }

    @Test func expiredKeysArePurgedAndDeleted() throws {
        let helper = try HelperProcess(duration: "3 s", overlap: "1 s", lookahead: "6 s")
        try helper.start()
        let client = try helper.client()
        let first = client.keys[0]
        var purged: [[UInt8]] = []
        client.onKeyEvent = { if case let .purged(pub) = $0 { purged.append(pub) } }
        let deadline = Date().addingTimeInterval(10)
        while !purged.contains(first.publicKey) && Date() < deadline { try client.waitForEvents(for: .seconds(0.3)) }
        #expect(purged.contains(first.publicKey))
        // The PURGE goes out as the key expires; the maintainer deletes its file (or, in a
        // token, the object and then the reference) after it, on its own thread.
        let file = helper.keyDirectory + "/\(first.anchor.seconds)"
        let gone = Date().addingTimeInterval(10)
        while FileManager.default.fileExists(atPath: file) && Date() < gone { usleep(20_000) }
        #expect(!FileManager.default.fileExists(atPath: file))
        // New keys keep coming, so signing keeps working.
        _ = try client.sign(purposeBytes: [0, 0, 0, 8, 0, 0, 0, 0])
        #expect(helper.stop() == 0)
    }

    @Test func manyClientsAtOnce() throws {
        let helper = try HelperProcess()
        try helper.start()
        for count in [2, 16] {
            let failures = Locked(0)
            let signatures = Locked(0)
            let path = helper.socketPath
            var threads: [OSThread] = []
            for i in 0..<count {
                threads.append(try OSThread.start(name: "client\(i)") {
                    do {
                        let c = EddsaHelperClient(socketPath: path)
                        try c.connect(timeout: .seconds(20))
                        for n in 0..<50 {
                            let body = Array("client \(i) message \(n)".utf8)
                            let purpose = EddsaSignRequest.purposeBytes(purpose: 0, body: body)
                            let (pub, sig) = try c.sign(purposeBytes: purpose, timeout: .seconds(20))
                            if Ed25519.verify(signature: sig, message: purpose, publicKey: pub) {
                                signatures.withLock { $0 += 1 }
                            }
                        }
                    } catch {
                        failures.withLock { $0 += 1 }
                    }
                })
            }
            for t in threads { t.join() }
            #expect(failures.withLock { $0 } == 0)
            #expect(signatures.withLock { $0 } == count * 50)
        }
        #expect(helper.stop() == 0)
    }
}
