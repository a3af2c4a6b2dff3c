import Foundation
import SecmodBase
import SecmodCrypto
import SecmodOffline
import SecmodSystem
import SecmodTestVectors
import SecmodWire
import Testing

/// The offline signer's policy in process (`SecmodOffline`): what stops `sign`, and trust on
/// first use of the helpers' module keys. Documents are offline-documents.md §10's vectors.
@Suite struct OfflinePolicyTests {
    private func keys(_ document: String = OfflineVectors.inputDocument) throws -> FutureKeys {
        try FutureKeys(arguments: try OfflineOperation.unwrapInputKeys(try JSONValue.parse(document)), currency: "KUDOS")
    }

    private func expectations(ageMask: UInt32 = 0, value: String? = nil, fees: [String: String] = [:]) throws
        -> (String) throws(SecmodError) -> KeyReview.Expectations {
        let expected = KeyReview.Expectations(ageMask: ageMask, value: try value.map { try Amount(parsing: $0) },
                                              fees: try fees.mapValues { try Amount(parsing: $0) })
        return { (_: String) throws(SecmodError) in expected }
    }

    @Test func aGoodDocumentHasNoProblemsAndSignsAsTalerDoes() throws {
        let review = try KeyReview(try keys(), expectations: try expectations(value: "KUDOS:5", fees: ["fee_withdraw": "KUDOS:0.01"]))
        #expect(review.problems.isEmpty)
        try review.requireNoProblems("sign")
        let signatures = review.sign(with: try OfflineVectors.master())
        #expect(signatures.arguments.rendered(indent: 0) == OfflineVectors.postBody)
    }

    @Test func aForgedModuleSignatureStopsSigning() throws {
        // One character of the signing key's module signature changed.
        let forged = OfflineVectors.inputDocument.replacingOccurrences(of: "\"signkey_secmod_sig\":\"47RHYF", with: "\"signkey_secmod_sig\":\"57RHYF")
        #expect(forged != OfflineVectors.inputDocument)
        let review = try KeyReview(try keys(forged))
        #expect(review.signingKeys.map(\.moduleSignatureValid) == [false])
        #expect(review.problems.count == 1)
        #expect(throws: SecmodError(.crypto, "")) { try review.requireNoProblems("sign") }
    }

    @Test func whatTheConfigurationExpectsMustMatch() throws {
        let review = try KeyReview(try keys(), expectations: try expectations(ageMask: 0x20A, value: "KUDOS:10",
                                                                              fees: ["fee_refund": "KUDOS:0.05"]))
        // Age mask, value and one fee: three problems on the one denomination.
        #expect(review.denominations.map(\.problems.count) == [3])
        #expect(review.denominations[0].ageMask == 0x20A, "the configuration's age mask is what would be signed")
        #expect(review.denominations[0].moduleSignatureValid)
        #expect(throws: SecmodError(.crypto, "")) { try review.requireNoProblems("sign") }
    }

    @Test func moduleKeysArePinnedOnFirstUseAndAChangeIsRefused() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pins-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/secm.pins"
        let keys = try keys().securityModuleKeys
        #expect(try ModuleKeyPins.check(keys, file: file, configuredPins: [:]) == .firstUse)
        try ModuleKeyPins.pin(keys, file: file)
        let mode = try FileSystem.status(file, followLinks: false).permissions
        #expect(mode == 0o400)
        #expect(try ModuleKeyPins.check(keys, file: file, configuredPins: [:]) == .matches)
        let changed = SecurityModuleKeySet(rsa: keys.rsa, cs: keys.cs, eddsa: [UInt8](repeating: 7, count: 32))
        #expect(throws: SecmodError.self) { try ModuleKeyPins.pin(changed, file: file) }
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: file))) == keys.bytes, "a pin file is never replaced")
        #expect(throws: SecmodError(.crypto, "")) { try ModuleKeyPins.check(changed, file: file, configuredPins: [:]) }
    }

    @Test func aConfiguredPinMustMatchAtFirstUse() throws {
        let keys = try keys().securityModuleKeys
        let file = "/nonexistent-\(UUID())/secm.pins"
        #expect(try ModuleKeyPins.check(keys, file: file, configuredPins: ["SECM_ESIGN_PUBKEY": keys.eddsa]) == .firstUse)
        #expect(throws: SecmodError(.crypto, "")) {
            try ModuleKeyPins.check(keys, file: file, configuredPins: ["SECM_DENOM_PUBKEY": keys.eddsa])
        }
    }

    @Test func aPinFileOthersMayWriteProvesNothing() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pins-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let file = directory + "/secm.pins"
        let keys = try keys().securityModuleKeys
        #expect(FileManager.default.createFile(atPath: file, contents: Data(keys.bytes), attributes: [.posixPermissions: 0o664]))
        #expect(throws: SecmodError(.permission, "")) { try ModuleKeyPins.check(keys, file: file, configuredPins: [:]) }
    }
}
