import SecmodBase
import SecmodCrypto
import SecmodSystem
import Testing

@Suite struct RsaPublicKeyTests {
    @Test func generatedKeysHaveTheRequestedSizeAndExponent() throws {
        for (bits, key) in [(1024, try RsaFixtures.key1024.get()), (2048, try RsaFixtures.key2048.get())] {
            let pub = key.publicKey
            #expect(pub.bits == bits)
            #expect(pub.modulus.count == bits / 8)
            #expect(pub.modulus[0] & 0x80 != 0)
            #expect(pub.modulus.last! & 1 == 1)
            #expect(pub.exponent == [0x01, 0x00, 0x01])
        }
    }

    @Test func encodingIsGnunets() throws {
        let pub = try RsaFixtures.key2048.get().publicKey
        let encoded = pub.encoded()
        #expect(encoded.count == 263)
        #expect(Array(encoded.prefix(4)) == [0x01, 0x00, 0x00, 0x03])
        #expect(Array(encoded[4 ..< 260]) == pub.modulus)
        #expect(Array(encoded.suffix(3)) == [0x01, 0x00, 0x01])
        #expect(try RsaPublicKey(encoded: encoded) == pub)
        let small = try RsaFixtures.key1024.get().publicKey.encoded()
        #expect(small.count == 135 && Array(small.prefix(4)) == [0x00, 0x80, 0x00, 0x03])
    }

    @Test func hashIsSha512OfTheEncoding() throws {
        let pub = try RsaFixtures.key2048.get().publicKey
        #expect(pub.hash.count == 64)
        #expect(pub.hash == SHA512.hash(pub.encoded()))
        #expect(pub.hash != (try RsaFixtures.key1024.get().publicKey.hash))
    }

    @Test func leadingZerosDoNotMakeADifferentKey() throws {
        let pub = try RsaFixtures.key2048.get().publicKey
        let padded = RsaPublicKey(modulus: [0, 0] + pub.modulus, exponent: [0] + pub.exponent)
        #expect(padded == pub)
        #expect(padded.encoded() == pub.encoded())
    }

    @Test func decoderRejectsMalformedEncodings() throws {
        let good = try RsaFixtures.key1024.get().publicKey.encoded()
        var evenModulus = good
        evenModulus[4 + 127] &= 0xFE
        let paddedModulus: [UInt8] = [0x00, 0x81, 0x00, 0x03, 0x00] + good[4...]
        let bad: [(String, [UInt8])] = [
            ("empty", []),
            ("short header", [0x00, 0x80, 0x00]),
            ("truncated", Array(good.dropLast())),
            ("trailing byte", good + [0]),
            ("leading zero in n", paddedModulus),
            ("empty e", [0x00, 0x80, 0x00, 0x00] + good[4 ..< 132]),
            ("even n", evenModulus),
            ("e = 1", [0x00, 0x80, 0x00, 0x01] + good[4 ..< 132] + [0x01]),
        ]
        for (what, bytes) in bad {
            #expect(throws: SecmodError.self, "\(what) was accepted") { try RsaPublicKey(encoded: bytes) }
            do { _ = try RsaPublicKey(encoded: bytes) } catch { #expect(error.code == .malformed) }
        }
    }

    @Test func verifyRawComparesIntegersAndRefusesOversizedSignatures() throws {
        let key = try RsaFixtures.key1024.get()
        let pub = key.publicKey
        let m = RsaFixtures.message(below: key, length: 100)
        let s = try key.sign(blindedMessage: m)
        #expect(pub.verifyRaw(signature: s, message: m))
        #expect(pub.verifyRaw(signature: [0, 0] + s, message: [0] + m))
        var other = m
        other[50] ^= 1
        #expect(!pub.verifyRaw(signature: s, message: other))
        // s + n is the same residue but not a valid encoding of a signature.
        var carry = 0
        var sPlusN = [UInt8](repeating: 0, count: pub.modulus.count + 1)
        let padded = [UInt8](repeating: 0, count: pub.modulus.count - s.count) + s
        for i in stride(from: pub.modulus.count - 1, through: 0, by: -1) {
            let sum = Int(padded[i]) + Int(pub.modulus[i]) + carry
            sPlusN[i + 1] = UInt8(sum & 0xFF)
            carry = sum >> 8
        }
        sPlusN[0] = UInt8(carry)
        #expect(!pub.verifyRaw(signature: sPlusN, message: m))
    }
}
