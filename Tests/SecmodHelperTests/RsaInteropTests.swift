import Foundation
import SecmodBase
import SecmodCrypto
import SecmodSystem
import Testing

/// libgnunetutil, which Taler's C helper and the exchange use, as the judge of our RSA keys
/// and blind signatures: each direction of key-file exchange, and the full client round of
/// FDH, blinding, our signature, unblinding and verification.
@Suite(.serialized) struct RsaInteropTests {
    /// A scratch file, removed when the test is done with it.
    final class ScratchFile {
        let path = FileManager.default.temporaryDirectory.path + "/secmod-rsa-\(getpid())-\(UUID().uuidString).key"
        deinit { try? FileManager.default.removeItem(atPath: path) }

        func write(_ key: RsaPrivateKey) throws {
            try Data(rsaBytes(key.keyFile())).write(to: URL(fileURLWithPath: path))
        }

        func read() throws -> SecureBytes {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            var secure = SecureBytes(count: data.count)
            secure.withUnsafeMutableBytes { $0.copyBytes(from: data) }
            return secure
        }
    }

    static func rsaBytes(_ secure: borrowing SecureBytes) -> [UInt8] { secure.withUnsafeBytes { Array($0) } }

    static func unhex(_ hex: Substring) -> [UInt8] {
        var out: [UInt8] = []
        var i = hex.startIndex
        while i < hex.endIndex {
            let j = hex.index(i, offsetBy: 2)
            out.append(UInt8(hex[i ..< j], radix: 16)!)
            i = j
        }
        return out
    }

    @Test func libgnunetutilReadsOurKeyFiles() throws {
        for bits in [1024, 2048] {
            let key = try RsaPrivateKey.generate(bits: bits, engine: .openssl)
            let file = ScratchFile()
            try file.write(key)
            let theirs = try GnunetReferee.check(tool: "gnunet-rsa-check", ["public", file.path])
            #expect(theirs.status == 0, "libgnunetutil rejected our key file: \(theirs.output)")
            #expect(theirs.output == hexString(key.publicKey.encoded()))
        }
    }

    @Test func weReadLibgnunetutilsKeyFilesByteForByte() throws {
        for bits in [1024, 2048, 2048, 3072] {
            let file = ScratchFile()
            let created = try GnunetReferee.check(tool: "gnunet-rsa-check", ["create", String(bits), file.path])
            try #require(created.status == 0, "\(created.output)")
            let theirFile = try file.read()
            for engine in RsaEngineKind.allCases {
                let key = try RsaPrivateKey(keyFile: theirFile, engine: engine)
                #expect(hexString(key.publicKey.encoded()) == created.output)
                #expect(key.publicKey.bits == bits)
                // Our writer reproduces their encoder exactly, whitespace and NUL included.
                let rewritten = try key.keyFile().isEqual(to: theirFile)
                #expect(rewritten, "\(bits)-bit key file differs from libgnunetutil's after a round trip")
            }
        }
    }

    @Test(arguments: RsaEngineKind.allCases)
    func blindSignaturesUnblindAndVerifyWithLibgnunetutil(engine: RsaEngineKind) throws {
        let key = try RsaPrivateKey.generate(bits: 2048, engine: engine)
        let pub = hexString(key.publicKey.encoded())
        for _ in 0 ..< 4 {
            let blinded = try GnunetReferee.check(tool: "gnunet-rsa-check", ["blind", pub])
            try #require(blinded.status == 0, "\(blinded.output)")
            let parts = blinded.output.split(separator: " ")
            try #require(parts.count == 3)
            let (hash, bks, message) = (String(parts[0]), String(parts[1]), Self.unhex(parts[2]))
            let signature = try key.sign(blindedMessage: message)
            #expect(try GnunetReferee.check(tool: "gnunet-rsa-check", ["verify", pub, hash, bks, hexString(signature)]).status == 0)
            // The referee can say no: a flipped bit, another hash or another blinding key fail.
            var tampered = signature
            tampered[tampered.count / 2] ^= 0x01
            #expect(try GnunetReferee.check(tool: "gnunet-rsa-check", ["verify", pub, hash, bks, hexString(tampered)]).status == 1)
            let otherHash = hexString(randomBytes(64))
            #expect(try GnunetReferee.check(tool: "gnunet-rsa-check", ["verify", pub, otherHash, bks, hexString(signature)]).status == 1)
            let otherBks = hexString(randomBytes(32))
            #expect(try GnunetReferee.check(tool: "gnunet-rsa-check", ["verify", pub, hash, otherBks, hexString(signature)]).status == 1)
        }
    }

    @Test func ourSignaturesEqualLibgnunetutilsOwn() throws {
        let file = ScratchFile()
        let created = try GnunetReferee.check(tool: "gnunet-rsa-check", ["create", "2048", file.path])
        try #require(created.status == 0, "\(created.output)")
        let keys = try RsaEngineKind.allCases.map { engine in try RsaPrivateKey(keyFile: file.read(), engine: engine) }
        let n = keys[0].publicKey.modulus
        var messages: [[UInt8]] = (0 ..< 6).map { _ in var m = randomBytes(256); m[0] = 0; return m }
        messages.append([0, 0, 0] + messages[0])  // leading zeros are ignored by both
        messages.append(Array(randomBytes(255)))
        for m in messages where m.contains(where: { $0 != 0 }) {
            let theirs = try GnunetReferee.check(tool: "gnunet-rsa-check", ["sign", file.path, hexString(m)])
            try #require(theirs.status == 0, "\(theirs.output)")
            for key in keys {
                #expect(hexString(try key.sign(blindedMessage: m)) == theirs.output, "\(key.engine)")
            }
        }
        // m >= n: libgnunetutil's signing fails too.
        #expect(try GnunetReferee.check(tool: "gnunet-rsa-check", ["sign", file.path, hexString(n)]).status == 1)
        for key in keys { #expect(throws: SecmodError.self) { try key.sign(blindedMessage: n) } }
    }
}
