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

/// The robustness checks of the EdDSA helper, for the RSA helper: the engine is shared, but
/// the RSA family decodes its own requests.
@Suite(.serialized) struct RsaRobustnessTests {
    static let coin = [(section: "coin_1", duration: "1 minute", bits: 1024)]

    func currentKey(_ client: RsaHelperClient) throws -> RsaDenominationKey {
        let now = Timestamp(microseconds: Clock.wallMicroseconds())
        return try #require(client.keys.first { $0.anchor <= now })
    }

    @Test func socketModeAndSigterm() throws {
        let helper = try HelperProcess(.rsa(denominations: Self.coin))
        try helper.start()
        #expect(try FileSystem.status(helper.socketPath, followLinks: false).permissions == 0o620)
        #expect(try FileSystem.status(helper.securityModuleKeyPath).permissions == 0o400)
        _ = try helper.rsaClient()
        #expect(helper.stop() == 0)
        #expect(!FileManager.default.fileExists(atPath: helper.socketPath))
    }

    @Test func malformedAndRandomDatagramsNeverStopIt() throws {
        let helper = try HelperProcess(.rsa(denominations: Self.coin))
        try helper.start()
        let raw = try RawClient()
        _ = try raw.handshake(socketPath: helper.socketPath, initType: 4, syncedType: 10)
        let failure26: [UInt8] = [0, 8, 0, 8, 0, 0, 0, 26]
        // Truncated SIGN, REVOKE of the wrong size: code 26.
        try raw.send([0, 72, 0, 5] + [UInt8](repeating: 0, count: 68))
        #expect(try raw.receive(seconds: 2)?.bytes == failure26)
        try raw.send([0, 8, 0, 6, 0, 0, 0, 0])
        #expect(try raw.receive(seconds: 2)?.bytes == failure26)
        // Dropped: size mismatch, unknown type, helper-bound type, garbage, oversize.
        for bad: [UInt8] in [[0, 99, 0, 5, 0, 0, 0, 0], [0, 4, 0x77, 0x77], [0, 4, 0, 10],
                             [UInt8](repeating: 0xfe, count: 65535), [UInt8](repeating: 1, count: 70_000)] {
            try raw.send(bad)
            #expect(try raw.receive(seconds: 0.2) == nil)
        }
        for i in 0..<3000 {
            var bytes = randomBytes(Int.random(in: 0...400))
            if i % 2 == 0, bytes.count >= 4 {
                bytes[0] = UInt8(bytes.count >> 8); bytes[1] = UInt8(bytes.count & 0xff)
                bytes[2] = 0; bytes[3] = [1, 2, 3, 4, 5, 7, 8, 9, 10, 11].randomElement()!  // no REVOKE (6)
            }
            try raw.send(bytes)
            while try raw.receive(seconds: 0) != nil {}
        }
        #expect(helper.isRunning)
        let client = try helper.rsaClient()
        let key = try currentKey(client)
        let pub = try RsaPublicKey(encoded: key.publicKey)
        #expect(pub.verifyRaw(signature: try client.sign(hash: key.hash, blindedMessage: [1, 2, 3]), message: [1, 2, 3]))
        #expect(helper.stop() == 0)
    }

    @Test func twoAndSixteenClientsAtOnce() throws {
        let helper = try HelperProcess(.rsa(denominations: Self.coin))
        try helper.start()
        for count in [2, 16] {
            let failures = Locked(0)
            let verified = Locked(0)
            let path = helper.socketPath
            var threads: [OSThread] = []
            for i in 0..<count {
                threads.append(try OSThread.start(name: "rsa\(i)") {
                    do {
                        let c = RsaHelperClient(socketPath: path)
                        try c.connect(timeout: .seconds(20))
                        let now = Timestamp(microseconds: Clock.wallMicroseconds())
                        guard let key = c.keys.first(where: { $0.anchor <= now }) else { throw HelperTestError("no key") }
                        let pub = try RsaPublicKey(encoded: key.publicKey)
                        for n in 0..<20 {
                            let m = Array("client \(i) coin \(n)".utf8)
                            if n % 4 == 0 {
                                let results = try c.batchSign([RsaSignRequestItem(hash: key.hash, blindedMessage: m),
                                                               RsaSignRequestItem(hash: key.hash, blindedMessage: m + [1])], timeout: .seconds(20))
                                if pub.verifyRaw(signature: try results[0].get(), message: m),
                                   pub.verifyRaw(signature: try results[1].get(), message: m + [1]) {
                                    verified.withLock { $0 += 1 }
                                }
                            } else if pub.verifyRaw(signature: try c.sign(hash: key.hash, blindedMessage: m, timeout: .seconds(20)), message: m) {
                                verified.withLock { $0 += 1 }
                            }
                        }
                    } catch {
                        failures.withLock { $0 += 1 }
                    }
                })
            }
            for t in threads { t.join() }
            #expect(failures.withLock { $0 } == 0)
            #expect(verified.withLock { $0 } == count * 20)
        }
        #expect(helper.stop() == 0)
    }

    @Test func vanishedAndStalledClientsAreDropped() throws {
        let helper = try HelperProcess(.rsa(denominations: Self.coin), config: """
            SESSION_OUTBOX_MESSAGES = 128
            SESSION_SNDBUF = 64 KiB
            """)
        try helper.start()
        do {
            let gone = try RawClient()
            _ = try gone.handshake(socketPath: helper.socketPath, initType: 4, syncedType: 10)
        }
        #expect(helper.waitForLog("closed: client closed its session"))
        let client = try helper.rsaClient()
        let key = try currentKey(client)
        let stalled = try RawClient()
        _ = try stalled.handshake(socketPath: helper.socketPath, initType: 4, syncedType: 10)
        let request = RsaSignRequest.encode(hash: key.hash, blindedMessage: [7])
        for _ in 0..<30 {
            for _ in 0..<20 { _ = try? stalled.sendNow(request) }
            _ = try client.sign(hash: key.hash, blindedMessage: [9], timeout: .seconds(5))
        }
        #expect(helper.waitForLog("the client does not read"))
        #expect(helper.stop() == 0)
    }
}
