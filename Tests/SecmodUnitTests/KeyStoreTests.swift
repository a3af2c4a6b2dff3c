import Foundation
import SecmodBase
import SecmodCrypto
import SecmodKeys
import SecmodSystem
import SecmodWire
import Testing

@Suite struct KeyStoreTests {
    func seed(_ byte: UInt8) -> SecureBytes {
        var s = SecureBytes(count: 32)
        s.withUnsafeMutableBytes { for i in 0..<32 { $0[i] = byte } }
        return s
    }

    @Test func writesAtomicallyWithMode0400AndNeverOverwrites() throws {
        let dir = try ConfigScratchDirectory()
        let keys = KeyDirectory(path: dir.path + "/keys")
        try keys.storeNew(anchor: Timestamp(seconds: 42), contents: seed(1))
        let st = try FileSystem.status(dir.path + "/keys/42")
        #expect(st.permissions == 0o400)
        #expect(st.size == 32)
        #expect(try FileSystem.status(dir.path + "/keys").permissions == 0o700)
        let error = configError { () throws(SecmodError) in try keys.storeNew(anchor: Timestamp(seconds: 42), contents: seed(2)) }
        #expect(error?.code == .keyFile)
        let read = try keys.read(path: dir.path + "/keys/42", maximumSize: 32)
        let first = read.isEqual(to: seed(1))
        #expect(first)
        // No temporary file is left behind by the refused write.
        #expect(try FileSystem.listDirectory(dir.path + "/keys") == ["42"])
        try keys.storeReplacement(anchor: Timestamp(seconds: 42), contents: seed(3))
        let replaced = try keys.read(path: dir.path + "/keys/42", maximumSize: 32).isEqual(to: seed(3))
        #expect(replaced)
        try keys.remove(anchor: Timestamp(seconds: 42))
        #expect(!FileSystem.exists(dir.path + "/keys/42"))
    }

    @Test func scanSkipsWhatItDoesNotUnderstandAndDeletesNothing() throws {
        let dir = try ConfigScratchDirectory()
        let keys = KeyDirectory(path: dir.path)
        _ = try dir.writeBytes("100", [UInt8](repeating: 1, count: 32))
        try FileSystem.changeMode(dir.path + "/100", 0o644)
        _ = try dir.writeBytes("200", [UInt8](repeating: 1, count: 31))
        _ = try dir.writeBytes("notakey", [UInt8](repeating: 1, count: 32))
        _ = try dir.writeBytes("300x", [UInt8](repeating: 1, count: 32))
        _ = try dir.writeBytes("99999999999999999999", [UInt8](repeating: 1, count: 32))
        _ = try dir.writeBytes(".400.tmp-abc", [UInt8](repeating: 1, count: 5))
        try FileManager.default.createSymbolicLink(atPath: dir.path + "/500", withDestinationPath: dir.path + "/100")
        try FileManager.default.createDirectory(atPath: dir.path + "/600", withIntermediateDirectories: false)

        let entries = try keys.scan { $0 == 32 }
        var found: [UInt64] = []
        var skipped: Set<String> = []
        for e in entries {
            switch e {
            case let .key(anchor, _): found.append(anchor.seconds)
            case let .skipped(name, _): skipped.insert(name)
            }
        }
        #expect(found == [100])
        #expect(skipped == ["200", "notakey", "300x", "99999999999999999999", ".400.tmp-abc", "500", "600"])
        #expect(try FileSystem.status(dir.path + "/100").permissions == 0o400)  // tightened, as Taler does
        for name in ["200", "notakey", "300x", "99999999999999999999", "500", "600"] {
            #expect(FileSystem.exists(dir.path + "/" + name), "scan must not delete \(name)")
        }
        #expect(!FileSystem.exists(dir.path + "/.400.tmp-abc"))  // an interrupted write's leftover goes
    }

    @Test func securityModuleKeyIsCreatedOnceAndReused() throws {
        let dir = try ConfigScratchDirectory()
        let path = dir.path + "/sub/dir/sm-key"
        let (first, created) = try SecurityModuleKey.loadOrCreate(path: path)
        #expect(created)
        #expect(try FileSystem.status(path).permissions == 0o400)
        let (second, createdAgain) = try SecurityModuleKey.loadOrCreate(path: path)
        #expect(!createdAgain)
        #expect(first.publicKey == second.publicKey)
    }

    @Test func securityModuleKeyProblemsAreErrorsNotReplacements() throws {
        let dir = try ConfigScratchDirectory()
        let short = try dir.writeBytes("short", [UInt8](repeating: 1, count: 31))
        try FileSystem.changeMode(short, 0o400)
        #expect(configError { () throws(SecmodError) in _ = try SecurityModuleKey.loadOrCreate(path: short) }?.code == .keyFile)
        #expect(try FileSystem.status(short).size == 31)  // untouched

        let loose = try dir.writeBytes("loose", [UInt8](repeating: 1, count: 32))
        try FileSystem.changeMode(loose, 0o644)
        let error = configError { () throws(SecmodError) in _ = try SecurityModuleKey.loadOrCreate(path: loose) }
        #expect(error?.code == .permission)
        #expect(error?.message.contains("0644") == true)

        try FileManager.default.createDirectory(atPath: dir.path + "/dir", withIntermediateDirectories: false)
        #expect(configError { () throws(SecmodError) in _ = try SecurityModuleKey.loadOrCreate(path: dir.path + "/dir") }?.code == .keyFile)
    }
}
