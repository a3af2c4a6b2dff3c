import SecmodBase
import SecmodOffline
import SecmodSystem
import SecmodTestVectors
import SecmodWire
import Testing

/// Every malformed input of the offline flow is refused with a message that names the
/// field and says what was expected.
@Suite struct OfflineParsingTests {
    /// The error message of `body`, or nil if it did not throw.
    func message(_ body: () throws(SecmodError) -> Void) -> String? {
        do throws(SecmodError) { try body(); return nil } catch { return error.message }
    }

    /// Parses offline-documents.md §10's document after replacing `old` by `new` in its text.
    func parseEdited(_ old: String, _ new: String, currency: String? = "KUDOS") -> String? {
        let text = OfflineVectors.inputDocument
        precondition(text.contains(old), "the vector has no \(old)")
        var edited = text
        if let r = edited.firstRange(of: old) { edited.replaceSubrange(r, with: new) }
        return message { () throws(SecmodError) in
            _ = try FutureKeys(arguments: try OfflineOperation.unwrapInputKeys(try JSONValue.parse(edited)), currency: currency)
        }
    }

    // MARK: amounts

    @Test(arguments: [
        ("KUDOS:5", 5, 0, "KUDOS:5"), ("KUDOS:0.01", 0, 1_000_000, "KUDOS:0.01"), ("EUR:1.10", 1, 10_000_000, "EUR:1.1"),
        ("X:0.00000001", 0, 1, "X:0.00000001"), ("KUDOS:4503599627370496", 4_503_599_627_370_496, 0, "KUDOS:4503599627370496"),
        ("kudos:.5", 0, 50_000_000, "KUDOS:0.5"), ("ABCDEFGHIJK:1", 1, 0, "ABCDEFGHIJK:1"),
    ])
    func validAmounts(text: String, value: UInt64, fraction: UInt32, printed: String) throws {
        let a = try Amount(parsing: text)
        #expect(a.value == value && a.fraction == fraction && a.description == printed)
        #expect(try Amount(parsing: a.description) == a)
    }

    @Test(arguments: [
        ("KUDOS", "no ':'"), ("KUDOS:", "missing"), ("KUDOS:1.", "ends after the '.'"), (":5", "empty"),
        ("ABCDEFGHIJKL:1", "at most 11"), ("KU-DOS:1", "letters"), ("KUDOS:1.123456789", "more than 8"),
        ("KUDOS:4503599627370497", "maximum"), ("KUDOS:-1", "not a digit"), ("KUDOS:1e3", "not a digit"),
        ("KUDOS:1.2.3", "not a digit"), ("KUDOS: 1", "not a digit"), ("KUDOS:99999999999999999999999", "maximum"),
    ])
    func invalidAmounts(text: String, why: String) {
        let m = message { () throws(SecmodError) in _ = try Amount(parsing: text) }
        #expect(m?.contains("'\(text)' is not an amount") == true, "\(m ?? "accepted")")
        #expect(m?.contains(why) == true, "\(m ?? "accepted")")
    }

    @Test func amountsOutsideTheCurrency() {
        #expect(parseEdited("\"fee_refund\":\"KUDOS:0.04\"", "\"fee_refund\":\"EUR:0.04\"")?
            .contains("future_denoms[0].fee_refund: 'EUR:0.04' is not in the configured currency KUDOS") == true)
        // Case-insensitive, as Taler's strcasecmp.
        #expect(parseEdited("\"value\":\"KUDOS:5\"", "\"value\":\"kudos:5\"") == nil)
        #expect(parseEdited("\"fee_refund\":\"KUDOS:0.04\"", "\"fee_refund\":\"EUR:0.04\"", currency: nil) == nil)
        #expect(parseEdited("\"value\":\"KUDOS:5\"", "\"value\":\"KUDOS:5.\"")?.contains("future_denoms[0].value: 'KUDOS:5.' is not an amount") == true)
        #expect(parseEdited("\"value\":\"KUDOS:5\"", "\"value\":5")?.contains("future_denoms[0].value: expected a string, found a number") == true)
    }

    // MARK: JSON

    @Test(arguments: [
        ("", "line 1, column 1: the input is empty"),
        ("{\"a\":1} x", "unexpected text after the end"),
        ("{\"a\":1,\"a\":2}", "duplicate member \"a\""),
        ("{\"a\":\"x", "unterminated string"),
        ("{\"a\":\"\\x\"}", "invalid escape"),
        ("{\"a\":01}", "leading zeros"),
        ("{\"a\":1.}", "digit must follow the decimal point"),
        ("{\"a\":tru}", "expected a value"),
        ("{\"a\" 1}", "expected ':'"),
        ("[1,]", "expected a value"),
        ("{\"a\":\"\u{01}\"}", "control character"),
        ("{\"a\":\"\\u0000\"}", "NUL"),
        ("{\"a\":\"\\ud800\"}", "unpaired surrogate"),
        ("{a:1}", "member name in double quotes"),
        ("{\"a\":1,\n  \"b\":}", "line 2, column 7"),
        (String(repeating: "[", count: 100), "nested deeper than 64"),
    ])
    func invalidJSON(text: String, why: String) {
        let m = message { () throws(SecmodError) in _ = try JSONValue.parse(text) }
        #expect(m?.hasPrefix("invalid JSON at line") == true, "\(m ?? "accepted")")
        #expect(m?.contains(why) == true, "\(m ?? "accepted")")
    }

    @Test func invalidUTF8() throws {
        for bytes: [UInt8] in [[0x22, 0xFF, 0x22], [0x22, 0xC0, 0x80, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xE2, 0x82, 0x22]] {
            #expect(message { () throws(SecmodError) in _ = try JSONValue.parse(bytes) }?.contains("UTF-8") == true)
        }
        #expect(try JSONValue.parse(Array("\"h\u{e9}\\u00e9\\ud83d\\ude00\"".utf8)) == .string("h\u{e9}\u{e9}\u{1F600}"))
    }

    @Test func jsonRoundTrip() throws {
        let text = "{\"s\":\"a\\\"b\\\\c\\n\\u0001/\u{e9}\",\"n\":[-1.5e3,0,18446744073709551615],\"t\":true,\"f\":false,\"z\":null}"
        let v = try JSONValue.parse(text)
        #expect(v.rendered(indent: 0) == "{\"s\":\"a\\\"b\\\\c\\n\\u0001/\u{e9}\",\"n\":[-1.5e3,0,18446744073709551615],\"t\":true,\"f\":false,\"z\":null}")
        #expect(try JSONValue.parse(v.rendered(indent: 2)) == v)
    }

    // MARK: the document

    @Test func operations() {
        func unwrap(_ text: String) -> String? {
            message { () throws(SecmodError) in _ = try OfflineOperation.unwrapInputKeys(try JSONValue.parse(text)) }
        }
        #expect(unwrap("{\"operation\":\"exchange-input-keys-1\",\"arguments\":{}}")?.contains("unknown operation \"exchange-input-keys-1\"") == true)
        #expect(unwrap("{\"operation\":\"EXCHANGE-INPUT-KEYS-0\",\"arguments\":{}}")?.contains("unknown operation") == true)
        #expect(unwrap("{\"arguments\":{}}")?.contains("no \"operation\"") == true)
        #expect(unwrap("{\"operation\":7,\"arguments\":{}}")?.contains("\"operation\" is a number") == true)
        #expect(unwrap("{\"operation\":\"exchange-input-keys-0\"}")?.contains("no \"arguments\"") == true)
        #expect(unwrap("[{\"operation\":\"exchange-upload-sigs-0\"}]")?.contains("is a JSON array") == true)
        #expect(unwrap("\"x\"")?.contains("is a string") == true)
        #expect(parseEdited("\"arguments\":{", "\"arguments\":[{")?.contains("invalid JSON") == true)
    }

    @Test func missingAndMistypedMembers() {
        #expect(parseEdited("\"master_pub\"", "\"master_pubkey\"")?.contains("arguments: the member \"master_pub\" is missing") == true)
        #expect(parseEdited("\"future_denoms\":[", "\"future_denoms\":{},\"x\":[")?.contains("future_denoms: expected an array, found an object") == true)
        #expect(parseEdited("\"section_name\":\"coin_kudos_5\"", "\"section_name\":\"\"")?.contains("future_denoms[0].section_name") == true)
        #expect(parseEdited("\"cipher\":\"RSA\"", "\"cipher\":\"DSA\"")?.contains("future_denoms[0].denom_pub.cipher: unknown cipher \"DSA\"") == true)
        #expect(parseEdited("\"age_mask\":0", "\"age_mask\":-1")?.contains("future_denoms[0].denom_pub.age_mask") == true)
        #expect(parseEdited("\"age_mask\":0", "\"age_mask\":4294967296")?.contains("age_mask") == true)
        #expect(parseEdited("\"rsa_public_key\":\"040000", "\"rsa_public_key\":\"050000")?.contains("not an encoded RSA public key") == true)
        // Extra members are ignored, as in Taler.
        #expect(parseEdited("\"master_pub\"", "\"extra\":[1,2],\"master_pub\"") == nil)
    }

    @Test func base32Fields() {
        #expect(parseEdited("\"key\":\"XN4JHHH8", "\"key\":\"XN4JHHH")?.contains("future_signkeys[0].key: base32 value has 51 characters; 32 bytes need 52") == true)
        #expect(parseEdited("\"key\":\"XN4JHHH8", "\"key\":\"XN4JHHH!")?.contains("future_signkeys[0].key: '!' is not a base32 character") == true)
        #expect(parseEdited("\"denom_secmod_sig\":\"2A7Y", "\"denom_secmod_sig\":\"2A7")?.contains("future_denoms[0].denom_secmod_sig: base32 value") == true)
        #expect(parseEdited("\"master_pub\":\"0EGG", "\"master_pub\":\"0EG")?.contains("master_pub") == true)
        // Crockford aliases and lower case are accepted, as GNUnet accepts them.
        #expect(parseEdited("\"key\":\"XN4JHHH8", "\"key\":\"xn4jhhh8") == nil)
        #expect(parseEdited("\"master_pub\":\"0EGG", "\"master_pub\":\"OEGG") == nil)
    }

    @Test(arguments: [
        ("{\"t_s\":-1}", "not a whole non-negative number of seconds"),
        ("{\"t_s\":1.5}", "not a whole non-negative number of seconds"),
        ("{\"t_s\":1e9}", "not a whole non-negative number of seconds"),
        ("{\"t_s\":\"soon\"}", "\"soon\" is not a timestamp"),
        ("{\"t_s\":null}", "null is not a timestamp"),
        ("{\"t_us\":1763676800}", "has no \"t_s\""),
        ("{\"t_s\":1,\"x\":2}", "unexpected member \"x\""),
        ("1763676800", "not a timestamp (a number)"),
        ("{\"t_s\":18446744073710}", "beyond the end of time"),
        ("{\"t_s\":99999999999999999999}", "not a whole non-negative number"),
    ])
    func invalidTimestamps(new: String, why: String) {
        let m = parseEdited("\"stamp_end\":{\"t_s\":1763676800}", "\"stamp_end\":" + new)
        #expect(m?.contains("future_signkeys[0].stamp_end") == true, "\(m ?? "accepted")")
        #expect(m?.contains(why) == true, "\(m ?? "accepted")")
    }

    @Test func timestamps() throws {
        #expect(try Timestamp(json: try JSONValue.parse("{\"t_s\":\"never\"}"), path: "x") == .forever)
        #expect(try Timestamp(json: try JSONValue.parse("{\"t_s\":0}"), path: "x") == Timestamp(seconds: 0))
        #expect(Timestamp.forever.json.rendered(indent: 0) == "{\"t_s\":\"never\"}")
        #expect(Timestamp(microseconds: 1_700_000_000_999_999).json.rendered(indent: 0) == "{\"t_s\":1700000000}")
        let a = Timestamp(seconds: 100), b = Timestamp(seconds: 160)
        #expect(Timestamp.difference(from: a, to: b) == RelativeTime(seconds: 60))
        #expect(Timestamp.difference(from: b, to: a) == .zero)
        #expect(Timestamp.difference(from: a, to: .forever) == .forever)
    }

    // MARK: the upload document

    @Test func uploadDocuments() {
        func ops(_ text: String) -> String? {
            message { () throws(SecmodError) in _ = try UploadSignatures.operations(in: try JSONValue.parse(text)) }
        }
        #expect(ops("[]")?.contains("nothing to upload") == true)
        #expect(ops(OfflineVectors.inputDocument)?.contains("must be signed first") == true)
        #expect(ops("[{\"operation\":\"exchange-revoke-denomination-0\",\"arguments\":{}}]")?.contains("[0].operation: unknown or unsupported operation \"exchange-revoke-denomination-0\"") == true)
        #expect(ops("[{\"operation\":\"exchange-upload-sigs-0\",\"arguments\":{\"denom_sigs\":[]}}]")?.contains("[0].arguments: the member \"signkey_sigs\" is missing") == true)
        #expect(ops("[{\"operation\":\"exchange-upload-sigs-0\",\"arguments\":{\"denom_sigs\":{},\"signkey_sigs\":[]}}]")?.contains("[0].arguments.denom_sigs: expected an array") == true)
        #expect(ops("[{\"operation\":\"exchange-upload-sigs-0\",\"arguments\":{\"denom_sigs\":[{\"h_denom_pub\":\"AA\",\"master_sig\":\"AA\"}],\"signkey_sigs\":[]}}]")?.contains("[0].arguments.denom_sigs[0].h_denom_pub: base32") == true)
        // Operation names match case-insensitively, as in taler-exchange-offline.
        #expect(ops("[{\"operation\":\"Exchange-Upload-Sigs-0\",\"arguments\":{\"denom_sigs\":[],\"signkey_sigs\":[]}}]") == nil)
    }

    @Test func ageGroups() throws {
        #expect(try AgeMask.parse(groups: "8:10:12:14:16:18:21") == 0x255501)
        #expect(try AgeMask.parse(groups: "18") == 1 | 1 << 18)
        for bad in ["", "8:8", "10:8", "0", "32", "8::10", "a", "8:10:"] {
            #expect(throws: SecmodError.self) { try AgeMask.parse(groups: bad) }
        }
    }

    @Test func moduleKeySet() throws {
        let set = SecurityModuleKeySet(rsa: [UInt8](repeating: 1, count: 32), cs: [UInt8](repeating: 0, count: 32),
                                       eddsa: [UInt8](repeating: 2, count: 32))
        #expect(try SecurityModuleKeySet(bytes: set.bytes) == set)
        #expect(throws: SecmodError.self) { try SecurityModuleKeySet(bytes: Array(set.bytes.prefix(95))) }
    }
}
