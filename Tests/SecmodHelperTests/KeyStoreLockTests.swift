import Foundation
import SecmodClient
import SecmodKeys
import SecmodWire
import Testing

/// One helper per key store: two helpers signing with the same keys would each count only
/// their own signatures. The second one exits at start and names the holder; the first
/// keeps serving.
@Suite struct KeyStoreLockTests {
    @Test(arguments: [true, false])
    func aSecondHelperOnTheSameStoreExits(sharesKeyDirectory: Bool) throws {
        let first = try HelperProcess()
        try first.start()
        let shared = sharesKeyDirectory
            ? "KEY_DIR = \(first.keyDirectory)\nSM_PRIV_KEY = \(first.securityModuleKeyPath)\nAUDIT_DIR = \(first.auditDirectory)"
            : "AUDIT_DIR = \(first.auditDirectory)"
        let second = try HelperProcess(config: shared)
        #expect(try second.runExpectingExit() == 1, "\(second.log)")
        let lock = (sharesKeyDirectory ? first.keyDirectory : first.auditDirectory) + "/" + KeyDirectory.lockFileName
        #expect(second.log.contains(lock) && second.log.contains("process \(first.pid)"), "\(second.log)")
        #expect(!FileManager.default.fileExists(atPath: second.socketPath))
        // The first one serves on.
        _ = try first.client().sign(purpose: 1, body: [1])
        #expect(first.stop() == 0)
        // Once it is gone, the store is free: the lock died with its holder.
        try second.start()
        #expect(second.stop() == 0)
    }
}
