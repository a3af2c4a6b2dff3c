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
}
