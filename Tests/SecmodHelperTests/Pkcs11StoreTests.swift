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

/// Both helpers with `KEY_STORE = pkcs11` on a SoftHSMv2 token of their own. What the token
/// holds is read with OpenSC's `pkcs11-tool`, never with our own PKCS#11 code; RSA blind
/// signatures are judged by libgnunetutil.
@Suite(.serialized, .enabled(if: SoftHSMToken.available, "needs softhsm2 and opensc (contrib/deps.sh installs them)"))
struct Pkcs11StoreTests {
    /// The key directory's entries: anchor → reference.
    static func references(in directory: String) throws -> [UInt64: KeyReference] {
        var result: [UInt64: KeyReference] = [:]
        for name in try FileSystem.listDirectory(directory) where KeyDirectory.anchorSeconds(name) != nil {
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name)))
            let reference = try bytes.withUnsafeBytes { b throws(SecmodError) in try KeyReference(parsing: b, path: name) }
            #expect(try FileSystem.status(directory + "/" + name).permissions == 0o400)
            result[KeyDirectory.anchorSeconds(name)!] = reference
        }
        return result
    }

    static func moduleReference(_ helper: HelperProcess) throws -> KeyReference {
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: helper.securityModuleKeyPath)))
        return try bytes.withUnsafeBytes { b throws(SecmodError) in try KeyReference(parsing: b, path: "SM_PRIV_KEY") }
    }

    @Test func eddsaKeysAndTheModuleKeyLiveInTheTokenAndSign() throws {
        let helper = try HelperProcess(keyStore: .softHSM(moduleKey: true))
        let token = try #require(helper.token)
        try helper.start()
        let client = try helper.client()
        #expect(client.keys.count == 6)
        // Every key is a reference to an object in the token, with the announced public key.
        let references = try Self.references(in: helper.keyDirectory)
        #expect(references.count == 6)
        for key in client.keys {
            let reference = try #require(references[key.anchor.seconds])
            #expect(reference.publicKey == key.publicKey)
            #expect(reference.token == SoftHSMToken.label)
            #expect(reference.id.count == 16)
        }
        let module = try Self.moduleReference(helper)
        #expect(client.keys.allSatisfy { $0.securityModulePublicKey == module.publicKey })
        // The token holds exactly these seven private keys, sensitive, never extractable,
        // signing only; their labels name the helper and the anchor.
        let objects = try token.privateKeys()
        #expect(Set(objects.map(\.id)) == Set(references.values.map { Hex.encode($0.id) } + [Hex.encode(module.id)]))
        for object in objects {
            #expect(object.attributes.contains("never extractable"), "\(object)")
            #expect(object.attributes.contains("always sensitive"), "\(object)")
            #expect(object.attributes.contains("Usage:      sign") && !object.attributes.contains("decrypt"), "\(object)")
        }
        #expect(objects.contains { $0.label == "taler-exchange-secmod-eddsa/security-module-key" })
        for (anchor, reference) in references {
            #expect(objects.contains { $0.label == "taler-exchange-secmod-eddsa/\(anchor)" && $0.id == Hex.encode(reference.id) })
        }
        // Signatures verify, and AVAILs carry the token module key's signature.
        for body in ["hello", "taler", String(repeating: "x", count: 5000)] {
            let purpose = EddsaSignRequest.purposeBytes(purpose: 0, body: Array(body.utf8))
            let (pub, sig) = try client.sign(purposeBytes: purpose)
            #expect(Ed25519.verify(signature: sig, message: purpose, publicKey: pub))
        }
        for key in client.keys {
            let signed = SignaturePurpose.signingKeyAnnouncement(exchangePublicKey: key.publicKey, anchor: key.anchor,
                                                                 duration: key.duration)
            #expect(Ed25519.verify(signature: key.securityModuleSignature, message: signed, publicKey: module.publicKey))
        }
        // A restart loads the same keys from the token and announces the same bytes.
        let before = try RawClient().handshake(socketPath: helper.socketPath)
        #expect(helper.stop() == 0)
        try helper.start()
        #expect(try RawClient().handshake(socketPath: helper.socketPath) == before)
        #expect(try token.privateKeys().count == 7)
        #expect(helper.stop() == 0)
    }

    @Test func rsaKeysLiveInTheTokenAndLibgnunetutilVerifiesTheBlindSignatures() throws {
        let helper = try HelperProcess(.rsa(denominations: [(section: "coin_1", duration: "1 minute", bits: 2048)]),
                                       keyStore: .softHSM(moduleKey: true))
        let token = try #require(helper.token)
        try helper.start()
        // The client checks every AVAIL's module signature, made here by the token.
        let client = try helper.rsaClient()
        let module = try Self.moduleReference(helper)
        #expect(client.keys.allSatisfy { $0.securityModulePublicKey == module.publicKey })
        let references = try Self.references(in: helper.keyDirectory + "/coin_1")
        #expect(references.count == client.keys.count)
        for key in client.keys { #expect(references[key.anchor.seconds]?.publicKey == key.publicKey) }
        let objects = try token.privateKeys().filter { $0.id != Hex.encode(module.id) }
        #expect(objects.count == client.keys.count)
        #expect(objects.allSatisfy { $0.attributes.contains("RSA") && $0.attributes.contains("Usage:      sign") && $0.attributes.contains("never extractable")
            && !$0.attributes.contains("decrypt") && !$0.attributes.contains("unwrap") })
        #expect(objects.allSatisfy { $0.label.hasPrefix("taler-exchange-secmod-rsa/coin_1/") })
        let now = Timestamp(microseconds: Clock.wallMicroseconds())
        let key = try #require(client.keys.first { $0.anchor <= now })
        var blinds: [(hash: String, bks: String, blinded: [UInt8])] = []
        for _ in 0..<8 {
            let parts = try GnunetReferee.check(tool: "gnunet-rsa-check", ["blind", hexString(key.publicKey)]).output.split(separator: " ")
            try #require(parts.count == 3)
            blinds.append((String(parts[0]), String(parts[1]), RsaInteropTests.unhex(parts[2])))
        }
        for b in blinds.prefix(3) {
            let signature = try client.sign(hash: key.hash, blindedMessage: b.blinded)
            let verdict = try GnunetReferee.check(tool: "gnunet-rsa-check", ["verify", hexString(key.publicKey), b.hash, b.bks, hexString(signature)])
            #expect(verdict.status == 0, "libgnunetutil rejected the unblinded signature: \(verdict.output)")
        }
        let results = try client.batchSign(blinds.map { RsaSignRequestItem(hash: key.hash, blindedMessage: $0.blinded) })
        for (b, r) in zip(blinds, results) {
            let verdict = try GnunetReferee.check(tool: "gnunet-rsa-check", ["verify", hexString(key.publicKey), b.hash, b.bks, hexString(try r.get())])
            #expect(verdict.status == 0)
        }
        // m ≥ n is refused before the token sees it.
        let modulus = Array(key.publicKey.dropFirst(4).prefix(Int(key.publicKey[0]) << 8 | Int(key.publicKey[1])))
        #expect(throws: SecmodError.self) { try client.sign(hash: key.hash, blindedMessage: modulus) }
        #expect(helper.stop() == 0)
    }

    @Test func revocationAndExpiryDestroyTheTokenObjects() throws {
        let helper = try HelperProcess(duration: "3 s", overlap: "1 s", lookahead: "6 s", keyStore: .softHSM(moduleKey: false))
        let token = try #require(helper.token)
        try helper.start()
        let client = try helper.client()
        var events: [EddsaKeyEvent] = []
        client.onKeyEvent = { events.append($0) }
        let victim = client.keys[1]
        let victimID = try #require(try Self.references(in: helper.keyDirectory)[victim.anchor.seconds]).id
        try client.revoke(publicKey: victim.publicKey)
        var deadline = Date().addingTimeInterval(10)
        while !events.contains(.purged(publicKey: victim.publicKey)) && Date() < deadline { try client.waitForEvents(for: .seconds(0.2)) }
        #expect(events.contains(.purged(publicKey: victim.publicKey)))
        // Its successor's reference replaced its own, and its object is gone from the token.
        let successorID = try #require(try Self.references(in: helper.keyDirectory)[victim.anchor.seconds]).id
        #expect(successorID != victimID)
        #expect(!(try token.privateKeys()).contains { $0.id == Hex.encode(victimID) })
        #expect(try token.privateKeys().contains { $0.id == Hex.encode(successorID) })
        // Expiry: the first key's PURGE, then its reference and its object go.
        let first = client.keys[0]
        let firstID = try #require(try Self.references(in: helper.keyDirectory)[first.anchor.seconds]).id
        deadline = Date().addingTimeInterval(10)
        while !events.contains(.purged(publicKey: first.publicKey)) && Date() < deadline { try client.waitForEvents(for: .seconds(0.2)) }
        #expect(events.contains(.purged(publicKey: first.publicKey)))
        deadline = Date().addingTimeInterval(10)
        while (try token.privateKeys()).contains(where: { $0.id == Hex.encode(firstID) }) && Date() < deadline { usleep(100_000) }
        #expect(!(try token.privateKeys()).contains { $0.id == Hex.encode(firstID) })
        // The reference goes after the object.
        let reference = helper.keyDirectory + "/\(first.anchor.seconds)"
        while FileManager.default.fileExists(atPath: reference) && Date() < deadline { usleep(20_000) }
        #expect(!FileManager.default.fileExists(atPath: reference))
        _ = try client.sign(purposeBytes: [0, 0, 0, 8, 0, 0, 0, 0])
        // The token holds exactly the keys that are referenced.
        #expect(helper.stop() == 0)
        let referenced = Set(try Self.references(in: helper.keyDirectory).values.map { Hex.encode($0.id) })
        #expect(Set(try token.privateKeys().map(\.id)) == referenced)
    }

    @Test func unreferencedObjectsOfTheStoreAreDestroyedAndOthersAreKept() throws {
        let helper = try HelperProcess(keyStore: .softHSM(moduleKey: false))
        let token = try #require(helper.token)
        try helper.start()
        #expect(helper.stop() == 0)
        let module = try SecurityModuleKey.load(path: helper.securityModuleKeyPath, token: nil).publicKey
        let storeID = TokenKeyStore.storeID(section: "taler-exchange-secmod-eddsa", securityModulePublicKey: module)
        // What a crash between making a key and writing its reference leaves, and a key of
        // some other program in the same token.
        let stray = Hex.encode(storeID + [1, 2, 3, 4, 5, 6, 7, 8])
        let foreign = "0123456789abcdef0123456789abcdef"
        try token.makeKey(id: stray, label: "taler-exchange-secmod-eddsa/1")
        try token.makeKey(id: foreign, label: "someone-else")
        try helper.start()
        #expect(helper.waitForLog("destroyed token key 'taler-exchange-secmod-eddsa/1' (CKA_ID \(stray))"))
        let ids = Set(try token.privateKeys().map(\.id))
        #expect(!ids.contains(stray))
        #expect(ids.contains(foreign))
        #expect(try helper.client().keys.count == 6)
        #expect(helper.stop() == 0)
    }

    @Test func aReferenceWhoseObjectIsGoneIsSkippedAndKept() throws {
        let helper = try HelperProcess(keyStore: .softHSM(moduleKey: false))
        let token = try #require(helper.token)
        try helper.start()
        #expect(helper.stop() == 0)
        let references = try Self.references(in: helper.keyDirectory)
        let (anchor, reference) = try #require(references.sorted { $0.key < $1.key }.dropFirst(2).first)
        try token.destroyKey(id: Hex.encode(reference.id))
        try helper.start()
        #expect(helper.log.contains("skipping unusable key \(helper.keyDirectory)/\(anchor)"))
        let client = try helper.client()
        #expect(client.keys.count == 5)
        #expect(!client.keys.contains { $0.anchor.seconds == anchor })
        // Never deleted because this start could not use it.
        #expect(FileManager.default.fileExists(atPath: helper.keyDirectory + "/\(anchor)"))
        _ = try client.sign(purposeBytes: [0, 0, 0, 8, 0, 0, 0, 0])
        #expect(helper.stop() == 0)
    }

    @Test func aTokenWithoutAMechanismStopsTheHelperWithExit6() throws {
        let rsa = try HelperProcess(.rsa(denominations: [(section: "coin_1", duration: "1 minute", bits: 2048)]),
                                    keyStore: .softHSM(moduleKey: false))
        try #require(rsa.token).writeConfiguration(onlyMechanisms: ["CKM_RSA_PKCS_KEY_PAIR_GEN", "CKM_EC_EDWARDS_KEY_PAIR_GEN", "CKM_EDDSA"])
        #expect(try rsa.runExpectingExit() == 6)
        #expect(rsa.log.contains("does not offer CKM_RSA_X_509"))
        #expect(rsa.log.contains("'\(SoftHSMToken.label)'"))
        let eddsa = try HelperProcess(keyStore: .softHSM(moduleKey: true))
        try #require(eddsa.token).writeConfiguration(onlyMechanisms: ["CKM_EC_EDWARDS_KEY_PAIR_GEN", "CKM_RSA_PKCS_KEY_PAIR_GEN", "CKM_RSA_X_509"])
        #expect(try eddsa.runExpectingExit() == 6)
        #expect(eddsa.log.contains("does not offer CKM_EDDSA"))
        // The control: the same token with every mechanism serves.
        try #require(eddsa.token).writeConfiguration()
        try eddsa.start()
        #expect(eddsa.stop() == 0)
    }

    @Test func aWrongPinOrLabelOrALoosePinFileStopsTheHelper() throws {
        // A wrong PIN: exit 6, so that systemd does not try it again until the token locks it.
        let wrongPin = try HelperProcess(keyStore: .softHSM(moduleKey: false))
        let token = try #require(wrongPin.token)
        chmod(token.pinFile, 0o600)
        try "11111111\n".write(toFile: token.pinFile, atomically: false, encoding: .utf8)
        chmod(token.pinFile, 0o400)
        #expect(try wrongPin.runExpectingExit() == 6)
        #expect(wrongPin.log.contains("CKR_PIN_INCORRECT"))
        // A PIN file others can read: exit 4, as a loose SM_PRIV_KEY.
        let loose = try HelperProcess(keyStore: .softHSM(moduleKey: false))
        chmod(try #require(loose.token).pinFile, 0o644)
        #expect(try loose.runExpectingExit() == 4)
        #expect(loose.log.contains("PKCS11_PIN_FILE"))
        // A label no token has: named, with the labels that are there.
        let label = try HelperProcess(config: "PKCS11_TOKEN = no-such-token", keyStore: .softHSM(moduleKey: false))
        #expect(try label.runExpectingExit() != 0)
        #expect(label.log.contains("no token labelled 'no-such-token'"))
    }

    /// The token's library runs with the keys: one that someone else could replace is refused.
    @Test func aTokenLibraryOthersCouldReplaceIsRefused() throws {
        let helper = try HelperProcess(keyStore: .softHSM(moduleKey: false))
        let copy = helper.root + "/lib/libtoken.so"
        try FileManager.default.createDirectory(atPath: helper.root + "/lib", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: FileSystem.canonicalPath(SoftHSMToken.module)!, toPath: copy)
        let config = try String(contentsOfFile: helper.configPath, encoding: .utf8)
        try config.replacingOccurrences(of: "PKCS11_MODULE = \(SoftHSMToken.module)", with: "PKCS11_MODULE = \(copy)")
            .write(toFile: helper.configPath, atomically: true, encoding: .utf8)
        chmod(helper.root + "/lib", 0o755)
        chmod(copy, 0o666)
        #expect(try helper.runExpectingExit() == 4)
        #expect(helper.log.contains("PKCS11_MODULE \(copy) has mode 0666"), "\(helper.log)")
        chmod(copy, 0o644)
        chmod(helper.root + "/lib", 0o777)
        #expect(try helper.runExpectingExit() == 4)
        #expect(helper.log.contains("the directory of PKCS11_MODULE"))
        // The control: the same copy, kept to its owner, serves.
        chmod(helper.root + "/lib", 0o755)
        try helper.start()
        #expect(helper.stop() == 0)
    }
}
