import SecmodBase
import SecmodCrypto
import SecmodSystem
import Testing

@Suite struct RsaSigningTests {
    /// The same key loaded once per engine.
    static func engines(_ key: RsaPrivateKey) throws -> [RsaPrivateKey] {
        try RsaEngineKind.allCases.map { engine throws(SecmodError) in try RsaPrivateKey(keyFile: key.keyFile(), engine: engine) }
    }

    @Test func allEnginesGiveTheSameVerifyingMinimalSignatures() throws {
        let key = try RsaFixtures.key2048.get()
        let keys = try Self.engines(key)
        // More messages than the gcrypt engine's 32 uses of one blinding pair.
        for length in [1, 2, 32, 64, 128, 200, 255, 256] + Array(repeating: 256, count: 34) {
            let m = RsaFixtures.message(below: key, length: length)
            let signatures = try keys.map { k throws(SecmodError) in try k.sign(blindedMessage: m) }
            for (k, s) in zip(keys, signatures) {
                #expect(s == signatures[0], "\(k.engine) disagrees with \(keys[0].engine)")
                #expect(s.first != 0, "\(k.engine) returned a leading zero")
                #expect(key.publicKey.verifyRaw(signature: s, message: m))
            }
        }
    }

    @Test(arguments: RsaEngineKind.allCases)
    func knownAnswers(engine: RsaEngineKind) throws {
        let key = try RsaPrivateKey(keyFile: RsaFixtures.key1024.get().keyFile(), engine: engine)
        // 1^d = 1, and (n-1)^d = n-1 because d is odd: signatures of known value and length.
        #expect(try key.sign(blindedMessage: [0x01]) == [0x01])
        #expect(try key.sign(blindedMessage: [0, 0, 0, 0x01]) == [0x01])
        var nMinus1 = key.publicKey.modulus
        nMinus1[nMinus1.count - 1] -= 1  // n is odd
        #expect(try key.sign(blindedMessage: nMinus1) == nMinus1)
    }

    @Test(arguments: RsaEngineKind.allCases)
    func leadingZerosDoNotChangeTheSignature(engine: RsaEngineKind) throws {
        let key = try RsaPrivateKey(keyFile: RsaFixtures.key2048.get().keyFile(), engine: engine)
        let m = RsaFixtures.message(below: key, length: 256)
        let s = try key.sign(blindedMessage: m)
        #expect(try key.sign(blindedMessage: [0, 0, 0] + m) == s)
        #expect(try key.sign(blindedMessage: Array(m.drop { $0 == 0 })) == s)
    }

    @Test(arguments: RsaEngineKind.allCases)
    func messagesNotBelowTheModulusAreRefused(engine: RsaEngineKind) throws {
        let key = try RsaPrivateKey(keyFile: RsaFixtures.key2048.get().keyFile(), engine: engine)
        let n = key.publicKey.modulus
        var nPlus1 = n
        nPlus1[n.count - 1] &+= 1  // n is odd, so no carry
        let refused: [(String, [UInt8])] = [
            ("m = n", n), ("m = n with leading zeros", [0, 0] + n), ("m = n + 1", nPlus1),
            ("all ones", [UInt8](repeating: 0xFF, count: n.count)), ("longer than n", [0x01] + n),
            ("empty", []), ("zero", [0, 0, 0]),
        ]
        for (what, m) in refused {
            #expect(throws: SecmodError.self, "\(what) was signed") { try key.sign(blindedMessage: m) }
            do { _ = try key.sign(blindedMessage: m) } catch { #expect(error.code == .crypto) }
        }
        let nMinus2 = rsaSubtract(2, from: n)
        #expect(key.publicKey.verifyRaw(signature: try key.sign(blindedMessage: nMinus2), message: nMinus2))
    }

    /// The test above once computed n − 2 by decrementing the last byte, which trapped when
    /// a random modulus ended in 0x01.
    @Test func subtractionBorrowsAcrossBytes() {
        #expect(rsaSubtract(2, from: [0x12, 0x01]) == [0x11, 0xFF])
        #expect(rsaSubtract(2, from: [0x01, 0x00, 0x01]) == [0x00, 0xFF, 0xFF])
        #expect(rsaSubtract(2, from: [0x12, 0x35]) == [0x12, 0x33])
    }

    @Test(arguments: RsaEngineKind.allCases)
    func concurrentSigningOnOneKeyIsCorrect(engine: RsaEngineKind) throws {
        let reference = try RsaFixtures.key2048.get()
        let key = try RsaPrivateKey(keyFile: reference.keyFile(), engine: engine)
        let messages = (0 ..< 24).map { _ in RsaFixtures.message(below: key, length: 256) }
        let expected = try messages.map { m throws(SecmodError) in try reference.sign(blindedMessage: m) }
        let results = Locked<[Int: [UInt8]]>([:])
        let failures = Locked<[String]>([])
        var threads: [OSThread] = []
        for t in 0 ..< 8 {
            threads.append(try OSThread.start(name: "rsa-sign-\(t)") {
                for round in 0 ..< 3 {
                    let index = (t * 3 + round) % messages.count
                    do {
                        let s = try key.sign(blindedMessage: messages[index])
                        results.withLock { $0[t * 3 + round] = s }
                    } catch {
                        failures.withLock { $0.append("\(error)") }
                    }
                }
            })
        }
        threads.forEach { $0.join() }
        #expect(failures.withLock { $0 } == [])
        let signed = results.withLock { $0 }
        #expect(signed.count == 24)
        for (slot, s) in signed { #expect(s == expected[slot % messages.count], "slot \(slot)") }
    }

    @Test func generationRefusesUnsupportedSizes() {
        for bits in [0, 512, 1023, 8193, 16384] {
            #expect(throws: SecmodError.self) { try RsaPrivateKey.generate(bits: bits, engine: .openssl) }
        }
    }
}
