import Foundation
import SecmodBase
import SecmodClient
import SecmodCrypto
import SecmodKeys
import SecmodSystem
import SecmodWire
import Testing

/// `secmod keys import --to pkcs11`: a helper's file keys and module key move into its
/// token, the helper then announces the very same bytes, and an import that breaks off
/// part-way, at any step, is finished by running it again without losing a key.
@Suite(.serialized, .enabled(if: SoftHSMToken.available, "needs softhsm2 and opensc (contrib/deps.sh installs them)"))
struct KeyImportTests {
    static let secmod = HelperProcess.binary("secmod")

    /// Switches the helper's configuration to keys and module key in the token.
    static func switchToToken(_ helper: HelperProcess) throws {
        let text = try String(contentsOfFile: helper.configPath, encoding: .utf8)
        try text.replacingOccurrences(of: "KEY_STORE = file", with: "KEY_STORE = pkcs11")
            .write(toFile: helper.configPath, atomically: true, encoding: .utf8)
    }

    static func useModule(_ module: String, in helper: HelperProcess) throws {
        let text = try String(contentsOfFile: helper.configPath, encoding: .utf8)
        let replaced = text.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix("PKCS11_MODULE = ") ? "PKCS11_MODULE = \(module)" : String($0) }.joined(separator: "\n")
        try replaced.write(toFile: helper.configPath, atomically: true, encoding: .utf8)
    }

    func importKeys(_ helper: HelperProcess, _ kind: String, environment: [String: String] = [:]) throws -> OfflineRun {
        try OfflineRun.run(Self.secmod, ["keys", "import", "--to", "pkcs11", "--helper", kind, "-c", helper.configPath],
                           environment: helper.token!.environment.merging(environment) { $1 })
    }

    func entries(_ directory: String) throws -> (files: Int, references: Int) {
        var files = 0, references = 0
        for name in try FileSystem.listDirectory(directory) where KeyDirectory.anchorSeconds(name) != nil {
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name)))
            if bytes.withUnsafeBytes({ KeyReference.isReference($0) }) { references += 1 } else { files += 1 }
        }
        return (files, references)
    }

    @Test func anInterruptedImportIsFinishedByRunningItAgain() throws {
        let helper = try HelperProcess(keyStore: .filesWithToken)
        let token = try #require(helper.token)
        try helper.start()
        let before = try RawClient().handshake(socketPath: helper.socketPath)
        // Not while the helper runs: it holds the key directory.
        let refused = try importKeys(helper, "eddsa")
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("stop the helper first"), "\(refused.stderr)")
        #expect(helper.stop() == 0)
        try Self.switchToToken(helper)

        // First run: the token refuses the third import.
        let fault = try TokenFailureTests.faultModule.get()
        try Self.useModule(fault, in: helper)
        let control = helper.root + "/fault-control"
        let faultEnvironment = ["SECMOD_P11_REAL": SoftHSMToken.module, "SECMOD_P11_CONTROL": control]
        try "ops=create\nrv=0x6\nafter=2\n".write(toFile: control, atomically: true, encoding: .utf8)
        let first = try importKeys(helper, "eddsa", environment: faultEnvironment)
        #expect(first.status == 1, "\(first.output)\(first.stderr)")
        #expect(try entries(helper.keyDirectory) == (files: 4, references: 2))
        // Second run: every key after the first is made in the token, then its check fails:
        // objects without references, files still in place.
        try "ops=sign\nrv=0x6\nafter=1\n".write(toFile: control, atomically: true, encoding: .utf8)
        let second = try importKeys(helper, "eddsa", environment: faultEnvironment)
        #expect(second.status == 1)
        #expect(try entries(helper.keyDirectory) == (files: 4, references: 2))
        #expect(try token.privateKeys().count > 2)

        // Third run, the token healthy: the objects the second run left are used, not doubled.
        try Self.useModule(SoftHSMToken.module, in: helper)
        let third = try importKeys(helper)
        #expect(third.status == 0, "\(third.output)\(third.stderr)")
        #expect(third.output.contains("5 imported"), "four keys and the module key: \(third.output)")
        #expect(try entries(helper.keyDirectory) == (files: 0, references: 6))
        let objects = try token.privateKeys()
        #expect(objects.count == 7, "six keys and the module key: \(objects.map(\.label))")
        #expect(Set(objects.map(\.id)).count == 7)
        for object in objects {
            let access = object.attributes.split(separator: "\n").first { $0.hasPrefix("Access:") } ?? ""
            let flags = access.dropFirst("Access:".count).split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            #expect(flags.contains("sensitive") && !flags.contains("extractable"), "\(object)")
        }
        // The module key is a reference now.
        let module = Array(try Data(contentsOf: URL(fileURLWithPath: helper.securityModuleKeyPath)))
        #expect(module.withUnsafeBytes { KeyReference.isReference($0) })
        // A fourth run has nothing left to do.
        let fourth = try importKeys(helper)
        #expect(fourth.status == 0)
        #expect(fourth.output.contains("0 imported, 7 already in the token"), "\(fourth.output)")

        // The helper serves the same keys with the same module key: the same bytes.
        try helper.start()
        #expect(try RawClient().handshake(socketPath: helper.socketPath) == before)
        let client = try helper.client()
        let purpose: [UInt8] = [0, 0, 0, 8, 0, 0, 0, 0]
        let (pub, sig) = try client.sign(purposeBytes: purpose)
        #expect(Ed25519.verify(signature: sig, message: purpose, publicKey: pub))
        #expect(helper.stop() == 0)
    }

    func importKeys(_ helper: HelperProcess) throws -> OfflineRun { try importKeys(helper, "eddsa") }

    @Test func rsaKeysMoveAndSignTheSame() throws {
        let helper = try HelperProcess(.rsa(denominations: [(section: "coin_1", duration: "1 minute", bits: 2048)]),
                                       keyStore: .filesWithToken)
        try helper.start()
        let before = try RawClient().handshake(socketPath: helper.socketPath, initType: 4, syncedType: 10)
        let client = try helper.rsaClient()
        let now = Timestamp(microseconds: Clock.wallMicroseconds())
        let key = try #require(client.keys.first { $0.anchor <= now })
        let message = [UInt8](repeating: 0x5A, count: 255)
        let fromFile = try client.sign(hash: key.hash, blindedMessage: message)
        #expect(helper.stop() == 0)
        try Self.switchToToken(helper)
        let run = try importKeys(helper, "rsa")
        #expect(run.status == 0, "\(run.output)\(run.stderr)")
        #expect(try entries(helper.keyDirectory + "/coin_1").files == 0)
        try helper.start()
        #expect(try RawClient().handshake(socketPath: helper.socketPath, initType: 4, syncedType: 10) == before)
        #expect(try helper.rsaClient().sign(hash: key.hash, blindedMessage: message) == fromFile)
        #expect(helper.stop() == 0)
    }
}
