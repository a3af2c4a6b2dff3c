@testable import SecmodCrypto
import SecmodBase
import SecmodSystem
import Testing

/// `RsaOpenSSLEngine` imports a copy of the key only when a signer finds every copy lent,
/// and at most `maxCopies`: a key signed with by one thread at a time keeps one (it holds
/// the private numbers once more per copy), and any number of signers stays within the
/// bound and signs correctly, sharing copies beyond it.
@Suite struct RsaOpenSSLCopiesTests {
    private func engine(_ key: RsaPrivateKey) throws -> RsaOpenSSLEngine {
        try RsaOpenSSLEngine(RsaKeyFile.read(key.keyFile()))
    }

    /// The engine's raw root, without the leading zeros `RsaPrivateKey.sign` drops.
    private func root(_ engine: RsaOpenSSLEngine, _ message: [UInt8]) -> [UInt8]? {
        (try? engine.root(of: message)).map { Array($0.drop { $0 == 0 }) }
    }

    @Test func oneSignerAtATimeKeepsOneCopy() throws {
        let key = try RsaFixtures.key2048.get()
        let engine = try engine(key)
        let message = RsaFixtures.message(below: key, length: 256)
        let expected = try key.sign(blindedMessage: message)
        for _ in 0 ..< 5 { #expect(root(engine, message) == expected) }
        #expect(engine.copyCount == 1)
    }

    @Test func manySignersStayWithinTheBoundAndSignCorrectly() throws {
        let key = try RsaFixtures.key2048.get()
        let engine = try engine(key)
        let messages = (0 ..< 16).map { _ in RsaFixtures.message(below: key, length: 256) }
        let expected = try messages.map { m throws(SecmodError) in try key.sign(blindedMessage: m) }
        let wrong = Locked(0)
        let threads = try (0 ..< 16).map { t in
            try OSThread.start(name: "rsa-copy-\(t)") {
                for _ in 0 ..< 4 where root(engine, messages[t]) != expected[t] {
                    wrong.withLock { $0 += 1 }
                }
            }
        }
        threads.forEach { $0.join() }
        #expect(wrong.withLock { $0 } == 0)
        #expect((1 ... RsaOpenSSLEngine.maxCopies).contains(engine.copyCount), "\(engine.copyCount) copies")
    }
}
