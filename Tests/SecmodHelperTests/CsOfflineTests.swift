import Foundation
import SecmodClient
import SecmodCrypto
import SecmodOffline
import SecmodSystem
import SecmodWire
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The offline chain with a Clause-Schnorr denomination beside an RSA one: `download
/// --helpers` asks the CS helper too and carries its module key, `sign` pins rsa ‖ cs ‖
/// eddsa and signs the CS denomination with h_denom_pub over cipher 2 (offline-documents.md
/// §7.4), checked here with libsodium and libgnunetutil.
@Suite(.serialized) struct CsOfflineTests {
    static func config(root: String, master: String? = nil) -> String {
        """
        [PATHS]
        TALER_RUNTIME_DIR = \(root)/run/
        [exchange]
        SIGNKEY_LEGAL_DURATION = 2 years
        \(master.map { "MASTER_PUBLIC_KEY = \($0)" } ?? "")
        [taler-exchange-secmod-eddsa]
        DURATION = 1 hour
        OVERLAP_DURATION = 5 minutes
        LOOKAHEAD_SIGN = 2 hours
        [taler-exchange-secmod-rsa]
        OVERLAP_DURATION = 5 minutes
        LOOKAHEAD_SIGN = 2 hours
        [taler-exchange-secmod-cs]
        OVERLAP_DURATION = 5 minutes
        LOOKAHEAD_SIGN = 2 hours
        [coin_kudos_rsa]
        CIPHER = RSA
        RSA_KEYSIZE = 1024
        DURATION_WITHDRAW = 1 hour
        DURATION_SPEND = 2 years
        DURATION_LEGAL = 6 years
        VALUE = KUDOS:1
        FEE_WITHDRAW = KUDOS:0.01
        FEE_DEPOSIT = KUDOS:0.01
        FEE_REFRESH = KUDOS:0.01
        FEE_REFUND = KUDOS:0.01
        [coin_kudos_cs]
        CIPHER = CS
        DURATION_WITHDRAW = 1 hour
        DURATION_SPEND = 2 years
        DURATION_LEGAL = 6 years
        VALUE = KUDOS:2
        FEE_WITHDRAW = KUDOS:0.02
        FEE_DEPOSIT = KUDOS:0.02
        FEE_REFRESH = KUDOS:0.02
        FEE_REFUND = KUDOS:0.02

        """
    }

    @Test func csDenominationsAreDownloadedPinnedAndSigned() throws {
        let w = try OfflineWorkspace(masterSeed: nil)
        try FileManager.default.createDirectory(atPath: w.root + "/run", withIntermediateDirectories: true)
        try w.writeConfig(Self.config(root: w.root))
        let setup = try w.secmod(["setup", "-c", w.configPath])
        #expect(setup.status == 0, "\(setup.stderr)")
        let masterB32 = setup.output.trimmingCharacters(in: .whitespacesAndNewlines)
        let masterPub = try CrockfordBase32.decode(masterB32, byteCount: 32)
        try w.writeConfig(Self.config(root: w.root, master: masterB32))

        let helpers = try ["taler-exchange-secmod-eddsa", "taler-exchange-secmod-rsa", "taler-exchange-secmod-cs"].map { program in
            let p = Process()
            p.executableURL = URL(fileURLWithPath: HelperProcess.binary(program))
            p.arguments = ["-c", w.configPath, "-L", "INFO", "-l", w.root + "/\(program).log"] + HelperProcess.rootFlag
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            return p
        }
        defer { for p in helpers where p.isRunning { kill(p.processIdentifier, SIGTERM); p.waitUntilExit() } }
        // The CS helper is connected to last by download; wait until all three serve.
        let deadline = Clock.monotonicMicroseconds() + 60_000_000
        var cs: CsHelperClient?
        var rsa: RsaHelperClient?
        while Clock.monotonicMicroseconds() < deadline {
            let c = CsHelperClient(socketPath: w.root + "/run/exchange-secmod-cs/server.sock")
            let r = RsaHelperClient(socketPath: w.root + "/run/exchange-secmod-rsa/server.sock")
            let e = EddsaHelperClient(socketPath: w.root + "/run/exchange-secmod-eddsa/server.sock")
            if (try? c.connect(timeout: .seconds(2))) != nil, !c.keys.isEmpty, (try? r.connect(timeout: .seconds(2))) != nil, !r.keys.isEmpty,
               (try? e.connect(timeout: .seconds(2))) != nil, !e.keys.isEmpty {
                cs = c
                rsa = r
                break
            }
            var polls = PollSet()
            _ = try polls.wait(timeoutMilliseconds: 100)
        }
        let csClient = try #require(cs), rsaClient = try #require(rsa)

        let download = try w.secmod(["download", "--helpers", "-c", w.configPath, "-o", w.root + "/keys.json", "--timeout", "30"])
        #expect(download.status == 0, "\(download.stderr)")
        let keys = try FutureKeys(arguments: try OfflineOperation.unwrapInputKeys(try JSONValue.parse(w.bytes(w.root + "/keys.json"))),
                                  currency: "KUDOS")
        #expect(keys.securityModuleKeys.cs == csClient.securityModulePublicKey)
        let csDenominations = keys.denominations.filter { $0.publicKey.cipher == .cs }
        #expect(Set(csDenominations.map(\.publicKey.keyBytes)) == Set(csClient.keys.map(\.publicKey)))
        #expect(csDenominations.allSatisfy { $0.sectionName == "coin_kudos_cs" })
        #expect(keys.denominations.contains { $0.publicKey.cipher == .rsa })

        let sign = try w.secmod(["sign", "-c", w.configPath, w.root + "/keys.json", "-o", w.root + "/sigs.json"])
        #expect(sign.status == 0, "\(sign.stderr)")
        #expect(Array(w.bytes(w.pinPath)[0..<64]) == rsaClient.securityModulePublicKey! + csClient.securityModulePublicKey!)
        let operations = try UploadSignatures.operations(in: try JSONValue.parse(w.bytes(w.root + "/sigs.json")))
        let sigs = try #require(operations.first)
        for (key, signature) in zip(keys.denominations, sigs.denominations) where key.publicKey.cipher == .cs {
            // h_denom_pub = SHA-512(age_mask ‖ cipher 2 ‖ the 32-byte CS key), offline-documents.md §7.4.
            var hashInput = ByteWriter()
            hashInput.u32(0); hashInput.u32(2); hashInput.append(key.publicKey.keyBytes)
            let hDenomPub = SHA512.hash(hashInput.bytes)
            #expect(signature.denominationHash == hDenomPub)
            var layout = ByteWriter()
            layout.u32(256); layout.u32(1025)
            layout.append(masterPub)
            for t in [key.stampStart, key.stampExpireWithdraw, key.stampExpireDeposit, key.stampExpireLegal] { layout.u64(t.seconds * 1_000_000) }
            for amount in [key.value] + key.fees.all.map(\.amount) { layout.append(amount.networkBytes) }
            layout.append(hDenomPub)
            #expect(Ed25519.verify(signature: signature.masterSignature, message: layout.bytes, publicKey: masterPub))
            let referee = try GnunetReferee.check(["eddsa-verify", "1025", hexString(layout.bytes),
                                                   CrockfordBase32.encode(masterPub), CrockfordBase32.encode(signature.masterSignature)])
            #expect(referee.status == 0, "\(referee.output)")
        }
        #expect(sigs.denominations.count == keys.denominations.count)
    }
}
