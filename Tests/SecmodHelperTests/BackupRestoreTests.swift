import Foundation
import SecmodClient
import SecmodSystem
import Testing

/// docs/backup.md: a key store restored from a backup taken before a revocation must not
/// bring the revoked key back. The revocation is kept in AUDIT_DIR, which is never restored
/// over a newer copy; the helper then replaces the restored file with a successor.
@Suite struct BackupRestoreTests {
    private static func copyTree(_ from: String, _ to: String) throws {
        let cp = Process()
        cp.executableURL = URL(fileURLWithPath: "/bin/cp")
        cp.arguments = ["-a", from, to]
        try cp.run()
        cp.waitUntilExit()
        #expect(cp.terminationStatus == 0)
    }

    @Test func eddsaRestoredKeyDirectoryNeverRevivesARevokedKey() throws {
        let helper = try HelperProcess()
        try helper.start()
        let victim = try #require(try helper.client().keys.first)
        #expect(helper.stop() == 0)
        let backup = helper.root + "/backup-keys"
        try Self.copyTree(helper.keyDirectory, backup)  // the nightly backup, before the revocation

        try helper.start()
        let client = try helper.client()
        var successor: EddsaSigningKey?
        client.onKeyEvent = { if case let .available(key) = $0 { successor = key } }
        try client.revoke(publicKey: victim.publicKey)
        let deadline = Date().addingTimeInterval(10)
        while successor == nil && Date() < deadline { try client.waitForEvents(for: .seconds(0.2)) }
        #expect(successor != nil)
        #expect(helper.stop() == 0)

        // The disk is lost; KEY_DIR comes back from the backup, AUDIT_DIR is kept.
        try FileManager.default.removeItem(atPath: helper.keyDirectory)
        try Self.copyTree(backup, helper.keyDirectory)
        try helper.start()
        let after = try helper.client()
        #expect(!after.keys.contains { $0.publicKey == victim.publicKey }, "the revoked key is served again")
        // Its successor is made after the start, on the maintenance thread.
        let until = Date().addingTimeInterval(10)
        while !after.keys.contains(where: { $0.anchor == victim.anchor }), Date() < until {
            try after.waitForEvents(for: .seconds(0.2))
        }
        #expect(after.keys.contains { $0.anchor == victim.anchor }, "no successor at the revoked key's anchor")
        #expect(!after.keys.contains { $0.publicKey == victim.publicKey })
        let (pub, _) = try after.sign(purposeBytes: [0, 0, 0, 8, 0, 0, 0, 0])
        #expect(pub != victim.publicKey)
        #expect(helper.stop() == 0)
        // And it stays gone: the restored file itself was replaced.
        try helper.start()
        #expect(!(try helper.client().keys.contains { $0.publicKey == victim.publicKey }))
        #expect(helper.stop() == 0)
    }

    @Test func rsaRestoredKeyDirectoryNeverRevivesARevokedKey() throws {
        let helper = try HelperProcess(.rsa(denominations: [(section: "coin_eur_1", duration: "1 minute", bits: 1024)]))
        try helper.start()
        let victim = try #require(try helper.rsaClient().keys.first)
        #expect(helper.stop() == 0)
        let backup = helper.root + "/backup-keys"
        try Self.copyTree(helper.keyDirectory, backup)

        try helper.start()
        let client = try helper.rsaClient()
        try client.revoke(hash: victim.hash)
        let deadline = Date().addingTimeInterval(20)
        while client.keys.contains(where: { $0.hash == victim.hash }) || !client.keys.contains(where: { $0.anchor == victim.anchor }),
              Date() < deadline {
            try client.waitForEvents(for: .seconds(0.2))
        }
        #expect(helper.stop() == 0)

        try FileManager.default.removeItem(atPath: helper.keyDirectory)
        try Self.copyTree(backup, helper.keyDirectory)
        try helper.start()
        let after = try helper.rsaClient()
        #expect(!after.keys.contains { $0.hash == victim.hash }, "the revoked key is served again")
        // Its successor is made after the start (RSA key generation runs off the loop).
        let until = Date().addingTimeInterval(20)
        while !after.keys.contains(where: { $0.anchor == victim.anchor }), Date() < until {
            try after.waitForEvents(for: .seconds(0.2))
        }
        #expect(after.keys.contains { $0.anchor == victim.anchor && $0.section == victim.section })
        #expect(!after.keys.contains { $0.hash == victim.hash })
        #expect(helper.stop() == 0)
    }
}
