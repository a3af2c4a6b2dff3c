import Foundation
import SecmodCrypto
import SecmodOffline
import SecmodSystem
import SecmodTestVectors
import SecmodWire
import Testing

/// `secmod setup`, `show`, `sign`, `download --exchange` and `upload`, run as the
/// operator runs them, on offline-documents.md §10 vectors.
@Suite struct OfflineCLITests {
    @Test func signReproducesTheReferenceAndPinsOnFirstUse() throws {
        let w = try OfflineWorkspace()
        let input = try w.write("keys.json", OfflineFixture.inputDocument)
        #expect(!FileManager.default.fileExists(atPath: w.pinPath))
        let run = try w.secmod(["sign", "-c", w.configPath, input])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try JSONValue.parse(run.stdout) == OfflineFixture.signOutput)
        #expect(run.stderr.contains("first use: pinned"))
        #expect(w.bytes(w.pinPath) == OfflineFixture.pinBytes)
        #expect(try w.mode(w.pinPath) == 0o400)
        // Second run: the pin matches; standard input and -o work too.
        let again = try w.secmod(["sign", "-c", w.configPath, "-o", w.root + "/sigs.json"], stdin: Array(OfflineFixture.inputDocument.utf8))
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.isEmpty && !again.stderr.contains("first use"))
        #expect(try JSONValue.parse(w.bytes(w.root + "/sigs.json")) == OfflineFixture.signOutput)
    }

    /// The documents are taler-exchange-offline's byte for byte: jansson (what it prints
    /// with, `JSON_INDENT(2)`, no trailing newline) renders the spec's vector, and `secmod
    /// sign`'s standard output and `-o` file must equal that, whole.
    @Test func signWritesTalersExactBytes() throws {
        let w = try OfflineWorkspace()
        let input = try w.write("keys.json", OfflineFixture.inputDocument)
        let compact = try w.write("expected-compact.json", OfflineVectors.signOutputCompact)
        let reference = try GnunetReferee.check(tool: "jansson-dump", [compact])
        #expect(reference.status == 0)
        let expectedText = try String(decoding: OfflineRun.run(try GnunetReferee.binary("jansson-dump").get(), [compact]).stdout, as: UTF8.self)
        let expected = Array(expectedText.utf8)
        #expect(expected.last == UInt8(ascii: "]"), "jansson wrote no trailing newline")
        let run = try w.secmod(["sign", "-c", w.configPath, input])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == expected, "standard output differs from taler-exchange-offline's bytes")
        let file = w.root + "/sigs.json"
        let toFile = try w.secmod(["sign", "-c", w.configPath, "-o", file, input])
        #expect(toFile.status == 0)
        #expect(w.bytes(file) == expected, "-o file differs from taler-exchange-offline's bytes")
        let grouped = try w.secmod(["offline", "sign", "-c", w.configPath, input])
        #expect(grouped.status == 0 && grouped.stdout == expected, "secmod offline sign differs")
    }

    @Test func changedModuleKeyIsRefused() throws {
        let w = try OfflineWorkspace()
        let input = try w.write("keys.json", OfflineFixture.inputDocument)
        var pins = OfflineFixture.pinBytes
        pins[5] ^= 1  // another RSA module key was pinned
        _ = FileManager.default.createFile(atPath: w.pinPath, contents: Data(pins), attributes: [.posixPermissions: 0o400])
        let run = try w.secmod(["sign", "-c", w.configPath, input])
        #expect(run.status != 0 && run.stdout.isEmpty)
        #expect(run.stderr.contains("security module keys changed"), "\(run.stderr)")
        #expect(run.stderr.contains("RSA denomination helper's module key changed"), "\(run.stderr)")
        #expect(!run.stderr.contains("EdDSA signing-key helper's module key changed"))
        #expect(w.bytes(w.pinPath) == pins)  // never rewritten

        // A CS helper that appears later changes the pinned zeros: also refused, named.
        let w2 = try OfflineWorkspace()
        var pins2 = OfflineFixture.pinBytes
        pins2[40] = 7
        _ = FileManager.default.createFile(atPath: w2.pinPath, contents: Data(pins2), attributes: [.posixPermissions: 0o400])
        let run2 = try w2.secmod(["sign", "-c", w2.configPath, try w2.write("keys.json", OfflineFixture.inputDocument)])
        #expect(run2.status != 0 && run2.stderr.contains("CS denomination helper's module key changed"), "\(run2.stderr)")
        // show reports the same and copies nothing.
        let show = try w.secmod(["show", "-c", w.configPath, input])
        #expect(show.status != 0 && show.stdout.isEmpty && show.stderr.contains("DO NOT SIGN"), "\(show.stderr)")
    }

    @Test(arguments: [50, 95, 97, 0])
    func shortOrCorruptPinFileIsRefused(size: Int) throws {
        let w = try OfflineWorkspace()
        let bytes = Array((OfflineFixture.pinBytes + [1, 2, 3]).prefix(size))
        _ = FileManager.default.createFile(atPath: w.pinPath, contents: Data(bytes), attributes: [.posixPermissions: 0o400])
        let run = try w.secmod(["sign", "-c", w.configPath, try w.write("keys.json", OfflineFixture.inputDocument)])
        #expect(run.status != 0 && run.stdout.isEmpty)
        #expect(run.stderr.contains("is corrupt: it has \(size) bytes, not 96"), "\(run.stderr)")
    }

    @Test func writablePinFileIsRefused() throws {
        let w = try OfflineWorkspace()
        _ = FileManager.default.createFile(atPath: w.pinPath, contents: Data(OfflineFixture.pinBytes), attributes: [.posixPermissions: 0o666])
        let run = try w.secmod(["sign", "-c", w.configPath, try w.write("keys.json", OfflineFixture.inputDocument)])
        #expect(run.status != 0 && run.stderr.contains("others may change it"), "\(run.stderr)")
    }

    @Test func configurationPinsAreCheckedOnFirstUse() throws {
        let eddsa = "G4WQE3N8FMBNYNN3AHKC6K3YSK5RV2MHPKQ3F8JXYR7NQ3Y9PEA0"
        let rsa = "HA4E7QBM17RSBZAJVCPKSEJXEB56E2DZ3PA146ZKEJ403D0FDXE0"
        // Matching pins: accepted and pinned.
        let good = try OfflineWorkspace(extraConfig: "SECM_ESIGN_PUBKEY = \(eddsa)\nSECM_DENOM_PUBKEY = \(rsa)")
        let ok = try good.secmod(["sign", "-c", good.configPath, try good.write("keys.json", OfflineFixture.inputDocument)])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(good.bytes(good.pinPath) == OfflineFixture.pinBytes)

        // A different EdDSA pin: refused, the option named, nothing pinned.
        let bad = try OfflineWorkspace(extraConfig: "SECM_ESIGN_PUBKEY = \(rsa)")
        let refused = try bad.secmod(["sign", "-c", bad.configPath, try bad.write("keys.json", OfflineFixture.inputDocument)])
        #expect(refused.status != 0 && refused.stdout.isEmpty)
        #expect(refused.stderr.contains("EdDSA signing-key helper's module key") && refused.stderr.contains("SECM_ESIGN_PUBKEY"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: bad.pinPath))

        // A pinned CS key where the exchange has none.
        let cs = try OfflineWorkspace(extraConfig: "SECM_DENOM_CS_PUBKEY = \(rsa)")
        let csRun = try cs.secmod(["sign", "-c", cs.configPath, try cs.write("keys.json", OfflineFixture.inputDocument)])
        #expect(csRun.status != 0 && csRun.stderr.contains("SECM_DENOM_CS_PUBKEY"), "\(csRun.stderr)")

        // A malformed pin.
        let malformed = try OfflineWorkspace(extraConfig: "SECM_DENOM_PUBKEY = not-base32")
        let mRun = try malformed.secmod(["sign", "-c", malformed.configPath, try malformed.write("keys.json", OfflineFixture.inputDocument)])
        #expect(mRun.status != 0 && mRun.stderr.contains("SECM_DENOM_PUBKEY: the pinned module key is malformed"), "\(mRun.stderr)")

        // Once the file exists, the configuration pins are not consulted (spec §5).
        try good.writeConfig("SECM_ESIGN_PUBKEY = \(rsa)")
        let later = try good.secmod(["sign", "-c", good.configPath, good.root + "/keys.json"])
        #expect(later.status == 0, "\(later.stderr)")
    }

    @Test func masterKeyChecks() throws {
        let w = try OfflineWorkspace()
        let input = try w.write("keys.json", OfflineFixture.inputDocument)
        for mode in [0o600, 0o440, 0o404, 0o644] {
            try w.setMode(w.masterKeyPath, mode)
            let run = try w.secmod(["sign", "-c", w.configPath, input])
            #expect(run.status != 0 && run.stdout.isEmpty && run.stderr.contains("it must be 0400"), "\(mode): \(run.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: w.pinPath))  // nothing pinned by refused runs

        let other = try OfflineWorkspace(masterSeed: [UInt8](repeating: 9, count: 32))
        let wrong = try other.secmod(["sign", "-c", other.configPath, try other.write("keys.json", OfflineFixture.inputDocument)])
        #expect(wrong.status != 0 && wrong.stderr.contains("the exchange uses a different master key"), "\(wrong.stderr)")

        let none = try OfflineWorkspace(masterSeed: nil)
        let missing = try none.secmod(["sign", "-c", none.configPath, try none.write("keys.json", OfflineFixture.inputDocument)])
        #expect(missing.status != 0 && missing.stderr.contains("does not exist") && missing.stderr.contains("secmod setup"), "\(missing.stderr)")

        let short = try OfflineWorkspace(masterSeed: [1, 2, 3])
        let shortRun = try short.secmod(["sign", "-c", short.configPath, try short.write("keys.json", OfflineFixture.inputDocument)])
        #expect(shortRun.status != 0 && shortRun.stderr.contains("has 3 bytes"), "\(shortRun.stderr)")
    }

    /// Every malformed input: a clear message, a non-zero exit, no output, nothing pinned.
    @Test(arguments: [
        ("\"exchange-input-keys-0\"", "\"exchange-input-keys-9\"", "unknown operation \"exchange-input-keys-9\""),
        ("\"fee_deposit\":\"KUDOS:0.02\"", "\"fee_deposit\":\"KUDOS:0.0.2\"", "future_denoms[0].fee_deposit: 'KUDOS:0.0.2' is not an amount"),
        ("\"fee_deposit\":\"KUDOS:0.02\"", "\"fee_deposit\":\"EUR:0.02\"", "not in the configured currency KUDOS"),
        ("\"stamp_end\":{\"t_s\":1763676800}", "\"stamp_end\":{\"t_s\":\"later\"}", "future_signkeys[0].stamp_end.t_s"),
        ("\"key\":\"XN4JHHH8", "\"key\":\"XN4JHHH!", "future_signkeys[0].key: '!' is not a base32 character"),
        ("\"master_pub\":", "\"master_pub\":1,\"x\":", "master_pub: expected a string"),
        ("\"section_name\":\"coin_kudos_5\"", "\"section_name\":\"coin_kudos_6\"", "invalid security module signature for denomination key [coin_kudos_6]"),
        ("\"stamp_expire\":{\"t_s\":1700604800}", "\"stamp_expire\":{\"t_s\":1700604801}", "invalid security module signature for signing key XN4JHHH8"),
        ("\"section_name\":\"coin_kudos_5\"}]", "\"section_name\":\"coin_kudos_5\"]", "invalid JSON at line 6"),
        ("{\"operation\"", "{\"operation\":1,\"operation\"", "duplicate member \"operation\""),
    ])
    func malformedInputIsRefused(old: String, new: String, why: String) throws {
        let w = try OfflineWorkspace()
        var text = OfflineFixture.inputDocument
        let range = try #require(text.firstRange(of: old))
        text.replaceSubrange(range, with: new)
        let run = try w.secmod(["sign", "-c", w.configPath, try w.write("keys.json", text)])
        #expect(run.status == 1, "\(run.stderr)")
        #expect(run.stdout.isEmpty)
        #expect(run.stderr.contains(why), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: w.pinPath))
        let show = try w.secmod(["show", "-c", w.configPath, w.root + "/keys.json"])
        #expect(show.status != 0 && show.stdout.isEmpty, "\(show.stderr)")
    }

    @Test func otherBadInputs() throws {
        let w = try OfflineWorkspace()
        let empty = try w.secmod(["sign", "-c", w.configPath], stdin: [])
        #expect(empty.status != 0 && empty.stderr.contains("standard input is empty"), "\(empty.stderr)")
        let missing = try w.secmod(["sign", "-c", w.configPath, w.root + "/nope.json"])
        #expect(missing.status != 0 && missing.stderr.contains("nope.json") && missing.stderr.contains("No such file"), "\(missing.stderr)")
        let array = try w.secmod(["sign", "-c", w.configPath], stdin: Array("[]".utf8))
        #expect(array.status != 0 && array.stderr.contains("is a JSON array"), "\(array.stderr)")
        // No [taler] CURRENCY: sign refuses (the reference exits 6 here).
        let noCurrency = try w.write("nocurrency.conf", "[exchange-offline]\nMASTER_PRIV_FILE = \(w.masterKeyPath)\n")
        let nc = try w.secmod(["sign", "-c", noCurrency], stdin: Array(OfflineFixture.inputDocument.utf8))
        #expect(nc.status != 0 && nc.stderr.contains("[taler] CURRENCY is not set"), "\(nc.stderr)")
    }

    @Test func offlineConfigurationValuesAreEnforced() throws {
        // An offline configuration that states the denomination's fees must agree with the document.
        let w = try OfflineWorkspace(extraConfig: "[coin_kudos_5]\nVALUE = KUDOS:5\nFEE_DEPOSIT = KUDOS:0.03\n")
        let run = try w.secmod(["sign", "-c", w.configPath, try w.write("keys.json", OfflineFixture.inputDocument)])
        #expect(run.status != 0 && run.stderr.contains("fee_deposit KUDOS:0.02 differs from [coin_kudos_5] FEE_DEPOSIT = KUDOS:0.03"), "\(run.stderr)")
        // Age restriction in the offline configuration but not in the document: refused (the
        // reference signs a hash the exchange does not know).
        let aged = try OfflineWorkspace(extraConfig: "[coin_kudos_5]\nAGE_RESTRICTED = YES\n[exchange-extension-age_restriction]\nENABLED = YES\n")
        let agedRun = try aged.secmod(["sign", "-c", aged.configPath, try aged.write("keys.json", OfflineFixture.inputDocument)])
        #expect(agedRun.status != 0 && agedRun.stderr.contains("age_mask 0 but this configuration gives 0x255501"), "\(agedRun.stderr)")
    }

    @Test func showPrintsTheTableAndPassesTheDocumentOn() throws {
        let w = try OfflineWorkspace()
        let input = Array(OfflineFixture.inputDocument.utf8)
        let show = try w.secmod(["show", "-c", w.configPath], stdin: input)
        #expect(show.status == 0, "\(show.stderr)")
        #expect(show.stdout == input)  // unchanged, byte for byte
        for expected in ["coin_kudos_5", "KUDOS:5", "0.01/0.02/0.03/0.04", "2023-11-14 22:13:20", "2023-11-21 22:13:20",
                         "2025-11-20 22:13:20", "2031-11-19 22:13:20", "262SA7918FFF", "valid", OfflineFixture.exchangePub,
                         "matches master key", "not pinned yet"] {
            #expect(show.stderr.contains(expected), "\(expected) missing in:\n\(show.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: w.pinPath))  // show writes nothing
        // show | sign
        let signed = try w.secmod(["sign", "-c", w.configPath], stdin: show.stdout)
        #expect(try signed.status == 0 && JSONValue.parse(signed.stdout) == OfflineFixture.signOutput, "\(signed.stderr)")

        // An invalid module signature: the row says INVALID, nothing is passed on.
        var bad = OfflineFixture.inputDocument
        bad.replaceSubrange(bad.firstRange(of: "\"stamp_expire\":{\"t_s\":1700604800}")!, with: "\"stamp_expire\":{\"t_s\":1700604900}")
        let badShow = try w.secmod(["show", "-c", w.configPath], stdin: Array(bad.utf8))
        #expect(badShow.status == 1 && badShow.stdout.isEmpty)
        #expect(badShow.stderr.contains("INVALID") && badShow.stderr.contains("DO NOT SIGN"), "\(badShow.stderr)")
    }

    @Test func setupCreatesTheMasterKeyOnce() throws {
        let w = try OfflineWorkspace(masterSeed: nil)
        let first = try w.secmod(["setup", "-c", w.configPath])
        #expect(first.status == 0, "\(first.stderr)")
        let printed = first.output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try w.mode(w.masterKeyPath) == 0o400)
        let key = try OfflineFixture.key(seed: w.bytes(w.masterKeyPath))
        #expect(printed == CrockfordBase32.encode(key.publicKey))
        let second = try w.secmod(["setup", "-c", w.configPath])
        #expect(second.status == 0 && second.output.trimmingCharacters(in: .whitespacesAndNewlines) == printed)
        #expect(second.stderr.contains("already exists"))
        #expect(try OfflineFixture.key(seed: w.bytes(w.masterKeyPath)).publicKey == key.publicKey)
    }

    // MARK: HTTP

    @Test func downloadFromAnExchange() throws {
        let w = try OfflineWorkspace()
        let server = try OfflineHTTPServer { request in
            request.method == "GET" && request.path == "/management/keys" ? (200, Array(OfflineFixture.getBody.utf8)) : (404, [])
        }
        let run = try w.secmod(["download", "-c", w.configPath, "--exchange", server.baseURL, "-o", w.root + "/keys.json"])
        #expect(run.status == 0, "\(run.stderr)")
        let document = try JSONValue.parse(w.bytes(w.root + "/keys.json"))
        let expected = OfflineOperation.wrapInputKeys(try JSONValue.parse(OfflineFixture.getBody))
        #expect(document == expected)
        #expect(String(decoding: w.bytes(w.root + "/keys.json"), as: UTF8.self).hasPrefix("{\n  \"operation\": \"exchange-input-keys-0\",\n  \"arguments\": {\n    \"future_denoms\": ["))
        #expect(server.requests.withLock { $0.count } == 1)
        // BASE_URL from the configuration, without a trailing slash; to standard output.
        try w.writeConfig("[exchange]\nBASE_URL = \(server.baseURL.dropLast())")
        let fromConfig = try w.secmod(["download", "-c", w.configPath])
        #expect(try fromConfig.status == 0 && JSONValue.parse(fromConfig.stdout) == document, "\(fromConfig.stderr)")
        // The downloaded file signs to the reference signatures.
        let signed = try w.secmod(["sign", "-c", w.configPath, w.root + "/keys.json"])
        #expect(try signed.status == 0 && JSONValue.parse(signed.stdout) == OfflineFixture.signOutput, "\(signed.stderr)")
    }

    @Test func downloadRefusesAnInvalidModuleSignature() throws {
        let w = try OfflineWorkspace()
        var body = OfflineFixture.getBody
        body.replaceSubrange(body.firstRange(of: "\"section_name\":\"coin_kudos_5\"")!, with: "\"section_name\":\"coin_kudos_50\"")
        let tampered = body
        let server = try OfflineHTTPServer { _ in (200, Array(tampered.utf8)) }
        let run = try w.secmod(["download", "-c", w.configPath, "--exchange", server.baseURL, "-o", w.root + "/keys.json"])
        #expect(run.status != 0 && run.stdout.isEmpty)
        #expect(run.stderr.contains("invalid security module signature for denomination key [coin_kudos_50]"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: w.root + "/keys.json"))

        let errors = try OfflineHTTPServer { _ in (503, Array("{\"code\":1007,\"hint\":\"keys missing\"}".utf8)) }
        let unavailable = try w.secmod(["download", "-c", w.configPath, "--exchange", errors.baseURL])
        #expect(unavailable.status != 0 && unavailable.stderr.contains("HTTP 503") && unavailable.stderr.contains("keys missing"), "\(unavailable.stderr)")

        let garbage = try OfflineHTTPServer { _ in (200, Array("<html>".utf8)) }
        let notJSON = try w.secmod(["download", "-c", w.configPath, "--exchange", garbage.baseURL])
        #expect(notJSON.status != 0 && notJSON.stderr.contains("is not a future-keys document: invalid JSON"), "\(notJSON.stderr)")

        let refused = try w.secmod(["download", "-c", w.configPath, "--exchange", "http://127.0.0.1:1/", "--timeout", "5"])
        #expect(refused.status != 0 && refused.stderr.contains("failed"), "\(refused.stderr)")
        let noSource = try w.secmod(["download", "-c", w.configPath])
        #expect(noSource.status != 0 && noSource.stderr.contains("--exchange"), "\(noSource.stderr)")
    }

    @Test func uploadPostsTheSignatures() throws {
        let w = try OfflineWorkspace()
        let server = try OfflineHTTPServer { request in
            request.method == "POST" && request.path == "/management/keys" ? (204, []) : (404, [])
        }
        let signed = try w.secmod(["sign", "-c", w.configPath, "-o", w.root + "/sigs.json"], stdin: Array(OfflineFixture.inputDocument.utf8))
        #expect(signed.status == 0, "\(signed.stderr)")
        let run = try w.secmod(["upload", "-c", w.configPath, "--exchange", server.baseURL, w.root + "/sigs.json"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.output.contains("exchange accepted 1 denomination and 1 signing key signature(s): HTTP 204"), "\(run.output)")
        let requests = server.requests.withLock { $0 }
        #expect(requests.count == 1)
        #expect(requests.first?.headers["content-type"] == "application/json")
        #expect(try JSONValue.parse(requests.first?.body ?? []) == OfflineFixture.postBody)

        // The exchange refuses: the answer is reported, exit 1.
        let refusing = try OfflineHTTPServer { _ in
            (403, Array("{\"code\":1814,\"hint\":\"denomination key signature invalid\"}".utf8))
        }
        let refused = try w.secmod(["upload", "-c", w.configPath, "--exchange", refusing.baseURL], stdin: w.bytes(w.root + "/sigs.json"))
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("HTTP 403") && refused.stderr.contains("Taler error code 1814")
                && refused.stderr.contains("denomination key signature invalid"), "\(refused.stderr)")

        // Not the signatures: refused before anything is sent.
        let wrongInput = try w.secmod(["upload", "-c", w.configPath, "--exchange", server.baseURL], stdin: Array(OfflineFixture.inputDocument.utf8))
        #expect(wrongInput.status != 0 && wrongInput.stderr.contains("must be signed first"), "\(wrongInput.stderr)")
        let unknown = try w.secmod(["upload", "-c", w.configPath, "--exchange", server.baseURL],
                                   stdin: Array("[{\"operation\":\"exchange-wire-0\",\"arguments\":{}}]".utf8))
        #expect(unknown.status != 0 && unknown.stderr.contains("unknown or unsupported operation \"exchange-wire-0\""), "\(unknown.stderr)")
        #expect(server.requests.withLock { $0.count } == 1)
        let badURL = try w.secmod(["upload", "-c", w.configPath, "--exchange", "ftp://x/"], stdin: w.bytes(w.root + "/sigs.json"))
        #expect(badURL.status != 0 && badURL.stderr.contains("is not an exchange base URL"), "\(badURL.stderr)")
    }
}
