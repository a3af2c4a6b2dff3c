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

/// The whole chain without an exchange: both helpers on one configuration, `setup`,
/// `download --helpers`, `show`, `sign`; then every master signature is checked
/// independently: the signed bytes are rebuilt here from the spec's offline-documents.md §7 tables and checked
/// with libsodium and with libgnunetutil.
@Suite(.serialized) struct OfflineEndToEndTests {
    static let oneHour: UInt64 = 3600
    static let twoYears: UInt64 = 2 * 365 * 86400
    static let sixYears: UInt64 = 6 * 365 * 86400

    /// (section, value, fees w/d/rf/rd, age restricted)
    static let denominations: [(String, String, [String], Bool)] = [
        ("coin_kudos_1", "KUDOS:1", ["KUDOS:0.01", "KUDOS:0.02", "KUDOS:0.03", "KUDOS:0.04"], false),
        ("coin_kudos_5", "KUDOS:5", ["KUDOS:0", "KUDOS:0.5", "KUDOS:0.25", "KUDOS:0.00000001"], true),
    ]

    static func helperConfig(root: String) -> String {
        var text = """
            [PATHS]
            TALER_RUNTIME_DIR = \(root)/run/
            [exchange]
            SIGNKEY_LEGAL_DURATION = 2 years
            [exchange-extension-age_restriction]
            ENABLED = YES
            [taler-exchange-secmod-eddsa]
            DURATION = 1 hour
            OVERLAP_DURATION = 5 minutes
            LOOKAHEAD_SIGN = 2 hours
            [taler-exchange-secmod-rsa]
            OVERLAP_DURATION = 5 minutes
            LOOKAHEAD_SIGN = 2 hours

            """
        for (section, value, fees, aged) in denominations {
            text += """
                [\(section)]
                CIPHER = RSA
                RSA_KEYSIZE = 1024
                DURATION_WITHDRAW = 1 hour
                DURATION_SPEND = 2 years
                DURATION_LEGAL = 6 years
                VALUE = \(value)
                FEE_WITHDRAW = \(fees[0])
                FEE_DEPOSIT = \(fees[1])
                FEE_REFRESH = \(fees[2])
                FEE_REFUND = \(fees[3])
                AGE_RESTRICTED = \(aged ? "YES" : "NO")

                """
        }
        return text
    }

    @Test func helpersToVerifiedMasterSignatures() throws {
        let w = try OfflineWorkspace(masterSeed: nil)
        try FileManager.default.createDirectory(atPath: w.root + "/run", withIntermediateDirectories: true)
        try w.writeConfig(Self.helperConfig(root: w.root))

        // A fresh master key, and its public key in the exchange's configuration.
        let setup = try w.secmod(["setup", "-c", w.configPath])
        #expect(setup.status == 0, "\(setup.stderr)")
        let masterB32 = setup.output.trimmingCharacters(in: .whitespacesAndNewlines)
        let masterPub = try CrockfordBase32.decode(masterB32, byteCount: 32)
        try w.writeConfig(Self.helperConfig(root: w.root) + "[exchange]\nMASTER_PUBLIC_KEY = \(masterB32)\n")

        let helpers = try startHelpers(w)
        defer { for p in helpers where p.isRunning { kill(p.processIdentifier, SIGTERM); p.waitUntilExit() } }
        let (eddsa, rsa) = try waitForKeys(w)

        // download --helpers → show → sign
        let download = try w.secmod(["download", "--helpers", "-c", w.configPath, "-o", w.root + "/keys.json", "--timeout", "30"])
        #expect(download.status == 0, "\(download.stderr)")
        let keys = try FutureKeys(arguments: try OfflineOperation.unwrapInputKeys(try JSONValue.parse(w.bytes(w.root + "/keys.json"))),
                                  currency: "KUDOS")
        #expect(keys.masterPublicKey == masterPub)
        #expect(keys.securityModuleKeys.eddsa == eddsa.securityModulePublicKey)
        #expect(keys.securityModuleKeys.rsa == rsa.securityModulePublicKey)
        #expect(keys.securityModuleKeys.cs == [UInt8](repeating: 0, count: 32))
        #expect(Set(keys.signingKeys.map(\.key)) == Set(eddsa.keys.map(\.publicKey)))
        #expect(Set(keys.denominations.map(\.publicKey.keyBytes)) == Set(rsa.keys.map(\.publicKey)))
        #expect(Set(keys.denominations.map(\.sectionName)) == Set(Self.denominations.map(\.0)))

        let show = try w.secmod(["show", "-c", w.configPath, w.root + "/keys.json"])
        #expect(show.status == 0, "\(show.stderr)")
        #expect(show.stdout == w.bytes(w.root + "/keys.json"))

        let sign = try w.secmod(["sign", "-c", w.configPath, w.root + "/keys.json", "-o", w.root + "/sigs.json"])
        #expect(sign.status == 0, "\(sign.stderr)")
        #expect(w.bytes(w.pinPath) == rsa.securityModulePublicKey! + [UInt8](repeating: 0, count: 32) + eddsa.securityModulePublicKey!)
        let operations = try UploadSignatures.operations(in: try JSONValue.parse(w.bytes(w.root + "/sigs.json")))
        try #require(operations.count == 1)
        let sigs = operations[0]
        try #require(sigs.signingKeys.count == keys.signingKeys.count && sigs.denominations.count == keys.denominations.count)
        #expect(!sigs.signingKeys.isEmpty && !sigs.denominations.isEmpty)

        // Signing keys: offline-documents.md §7.1, expiries from §2.4.
        for (key, signature) in zip(keys.signingKeys, sigs.signingKeys) {
            #expect(signature.exchangePublicKey == key.key)
            let helperKey = try #require(eddsa.keys.first { $0.publicKey == key.key })
            #expect(key.stampStart == helperKey.anchor)
            #expect(key.stampExpire.seconds == key.stampStart.seconds + Self.oneHour)
            #expect(key.stampEnd.seconds == key.stampExpire.seconds + Self.twoYears)
            var layout = ByteWriter()
            layout.u32(64); layout.u32(1024)
            layout.u64(key.stampStart.seconds * 1_000_000); layout.u64(key.stampExpire.seconds * 1_000_000)
            layout.u64(key.stampEnd.seconds * 1_000_000)
            layout.append(key.key)
            try expectMasterSignature(layout.bytes, purpose: 1024, signature: signature.masterSignature, masterPub: masterPub)
        }

        // Denominations: offline-documents.md §7.2 with h_denom_pub of §7.4 (the age mask from the configuration).
        for (key, signature) in zip(keys.denominations, sigs.denominations) {
            let spec = try #require(Self.denominations.first { $0.0 == key.sectionName })
            let mask: UInt32 = spec.3 ? 0x255501 : 0
            var hashInput = ByteWriter()
            hashInput.u32(mask); hashInput.u32(1); hashInput.append(key.publicKey.keyBytes)
            let hDenomPub = SHA512.hash(hashInput.bytes)
            #expect(signature.denominationHash == hDenomPub)
            #expect(key.publicKey.ageMask == mask)
            let helperKey = try #require(rsa.keys.first { $0.publicKey == key.publicKey.keyBytes })
            #expect(key.stampStart == helperKey.anchor && key.sectionName == helperKey.section)
            #expect(key.stampExpireWithdraw.seconds == key.stampStart.seconds + Self.oneHour)
            #expect(key.stampExpireDeposit.seconds == key.stampExpireWithdraw.seconds + Self.twoYears)
            #expect(key.stampExpireLegal.seconds == key.stampExpireDeposit.seconds + Self.sixYears)
            #expect(key.value.description == spec.1)
            #expect(key.fees.all.map(\.amount.description) == spec.2)
            var layout = ByteWriter()
            layout.u32(256); layout.u32(1025)
            layout.append(masterPub)
            for t in [key.stampStart, key.stampExpireWithdraw, key.stampExpireDeposit, key.stampExpireLegal] {
                layout.u64(t.seconds * 1_000_000)
            }
            for amount in [spec.1] + spec.2 { layout.append(try amountNBO(amount)) }
            layout.append(hDenomPub)
            #expect(layout.bytes.count == 256)
            try expectMasterSignature(layout.bytes, purpose: 1025, signature: signature.masterSignature, masterPub: masterPub)
        }

        // With the EdDSA helper gone, download --helpers fails and names it.
        kill(helpers[0].processIdentifier, SIGTERM)
        helpers[0].waitUntilExit()
        let failed = try w.secmod(["download", "--helpers", "-c", w.configPath, "--timeout", "2"])
        #expect(failed.status != 0 && failed.stdout.isEmpty && failed.stderr.contains("EdDSA helper"), "\(failed.stderr)")
    }

    /// A coin section without its fees: download names the section and option.
    @Test func downloadNamesAMissingDenominationOption() throws {
        let w = try OfflineWorkspace(masterSeed: nil)
        try FileManager.default.createDirectory(atPath: w.root + "/run", withIntermediateDirectories: true)
        let config = Self.helperConfig(root: w.root).replacingOccurrences(of: "FEE_REFUND = KUDOS:0.00000001\n", with: "")
            + "[exchange]\nMASTER_PUBLIC_KEY = 0EGGFFZKSR8BW7BGVMCEEJY0K5KY9NHGKEJGTQRXVJ3684JN66W0\n"
        try w.writeConfig(config)
        let helpers = try startHelpers(w)
        defer { for p in helpers where p.isRunning { kill(p.processIdentifier, SIGTERM); p.waitUntilExit() } }
        _ = try waitForKeys(w)
        let run = try w.secmod(["download", "--helpers", "-c", w.configPath, "--timeout", "30"])
        #expect(run.status != 0 && run.stdout.isEmpty)
        #expect(run.stderr.contains("[coin_kudos_5] FEE_REFUND is not set"), "\(run.stderr)")
    }

    // MARK: helpers

    private func startHelpers(_ w: OfflineWorkspace) throws -> [Process] {
        try ["taler-exchange-secmod-eddsa", "taler-exchange-secmod-rsa"].map { program in
            let p = Process()
            p.executableURL = URL(fileURLWithPath: HelperProcess.binary(program))
            p.arguments = ["-c", w.configPath, "-L", "INFO", "-l", w.root + "/\(program).log"] + HelperProcess.rootFlag
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            return p
        }
    }

    /// Waits until both helpers announce keys (every RSA section included); returns a
    /// connected client of each.
    private func waitForKeys(_ w: OfflineWorkspace) throws -> (EddsaHelperClient, RsaHelperClient) {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let eddsa = EddsaHelperClient(socketPath: w.root + "/run/exchange-secmod-eddsa/server.sock")
            let rsa = RsaHelperClient(socketPath: w.root + "/run/exchange-secmod-rsa/server.sock")
            if (try? eddsa.connect(timeout: .seconds(2))) != nil, !eddsa.keys.isEmpty, (try? rsa.connect(timeout: .seconds(2))) != nil,
               Set(rsa.keys.map(\.section)).count == Self.denominations.count {
                return (eddsa, rsa)
            }
            usleep(100_000)
        }
        let logs = ["taler-exchange-secmod-eddsa", "taler-exchange-secmod-rsa"]
            .map { (try? String(contentsOfFile: w.root + "/\($0).log", encoding: .utf8)) ?? "" }.joined(separator: "\n")
        throw HelperTestError("helpers did not announce keys: \(logs)")
    }

    /// `TALER_AmountNBO` built here from its table (offline-documents.md §7.3), not with the code under test.
    private func amountNBO(_ text: String) throws -> [UInt8] {
        let parts = text.split(separator: ":")
        let number = parts[1].split(separator: ".", omittingEmptySubsequences: false)
        let value = try #require(UInt64(number[0]))
        var fraction: UInt32 = 0
        if number.count == 2 {
            let digits = String(number[1]) + String(repeating: "0", count: 8 - number[1].count)
            fraction = try #require(UInt32(digits))
        }
        var w = ByteWriter()
        w.u64(value)
        w.u32(fraction)
        w.append(Array(parts[0].utf8) + [UInt8](repeating: 0, count: 12 - parts[0].count))
        return w.bytes
    }

    /// libsodium and libgnunetutil (the C referee) must both accept the master signature.
    private func expectMasterSignature(_ signed: [UInt8], purpose: UInt32, signature: [UInt8], masterPub: [UInt8]) throws {
        #expect(Ed25519.verify(signature: signature, message: signed, publicKey: masterPub))
        let referee = try GnunetReferee.check(["eddsa-verify", String(purpose), hexString(signed),
                                               CrockfordBase32.encode(masterPub), CrockfordBase32.encode(signature)])
        #expect(referee.status == 0, "libgnunetutil rejects the purpose-\(purpose) master signature: \(referee.output)")
        // And it must not verify under another purpose.
        var other = signed
        other[7] ^= 1
        #expect(!Ed25519.verify(signature: signature, message: other, publicKey: masterPub))
    }
}
