import Foundation
import SecmodOffline
import SecmodSystem
import Testing

/// `secmod keys` shows each key's validity as Unix seconds (what Taler's files and messages
/// use) and as UTC ISO 8601 (what an operator reads), in the table and in `--json`.
@Suite struct KeysCommandTests {
    @Test func keysShowUnixSecondsAndUTC() throws {
        let helper = try HelperProcess(.eddsa)
        try helper.start()
        let first = try #require(try helper.client().keys.first)
        let iso = CalendarTime.isoUTC(seconds: Int64(first.anchor.seconds))
        #expect(iso.range(of: "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$", options: .regularExpression) != nil)
        let secmod = HelperProcess.binary("secmod")
        let table = try OfflineRun.run(secmod, ["keys", "--helper", "eddsa", "-c", helper.configPath])
        #expect(table.status == 0, "\(table.stderr)")
        #expect(table.output.contains("\(first.anchor.seconds) \(iso)"), "\(table.output)")
        let json = try OfflineRun.run(secmod, ["keys", "--helper", "eddsa", "-c", helper.configPath, "--json"])
        guard case let .array(rows) = try JSONValue.parse(json.stdout), case let .object(row)? = rows.first else {
            Issue.record("not an array of objects: \(json.output)")
            return
        }
        #expect(row.first { $0.name == "anchor_utc" }?.value == .string(iso))
        #expect(row.first { $0.name == "anchor" }?.value == .number(String(first.anchor.seconds)))
        #expect(helper.stop() == 0)
    }

    /// Where each key is kept: "file", or the token and CKA_ID that pkcs11-tool lists.
    @Test(.enabled(if: SoftHSMToken.available)) func keysShowTheStoreTheTokenAndTheObjectID() throws {
        for store in [HelperProcess.KeyStore.file, .softHSM(moduleKey: false)] {
            let helper = try HelperProcess(.eddsa, keyStore: store)
            try helper.start()
            let json = try OfflineRun.run(HelperProcess.binary("secmod"), ["keys", "--helper", "eddsa", "-c", helper.configPath, "--json"])
            #expect(json.status == 0, "\(json.stderr)")
            guard case let .array(rows) = try JSONValue.parse(json.stdout), rows.count == 6 else {
                Issue.record("not six keys: \(json.output)")
                continue
            }
            let objects = try helper.token?.privateKeys().map(\.id) ?? []
            for case let .object(row) in rows {
                let field = { (name: String) in row.first { $0.name == name }?.value }
                if let token = helper.token {
                    #expect(field("store") == .string("pkcs11"))
                    #expect(field("token") == .string(SoftHSMToken.label))
                    guard case let .string(id)? = field("cka_id") else { Issue.record("no cka_id"); continue }
                    #expect(objects.contains(id), "\(id) is not in \(objects)")
                    _ = token
                } else {
                    #expect(field("store") == .string("file"))
                    #expect(field("cka_id") == nil)
                }
            }
            #expect(helper.stop() == 0)
        }
    }
}
