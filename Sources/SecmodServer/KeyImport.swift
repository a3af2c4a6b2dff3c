import SecmodBase
import SecmodCrypto
import SecmodKeys
import SecmodPkcs11
import SecmodSystem
#if canImport(Glibc)
import Glibc
#endif

/// Moves a helper's file keys into its PKCS#11 token (`secmod keys import --to pkcs11`),
/// one key at a time, each step safe to interrupt:
///
/// 1. The key file is read and the key loaded, as the helper loads it.
/// 2. The key is imported with a `CKA_ID` derived from its public key, so that a second
///    run finds the object an interrupted first run made instead of making another. It is
///    sensitive and not extractable from then on.
/// 3. The token's key signs a fixed message and must give the file key's signature, byte
///    for byte (Ed25519 and raw RSA are deterministic).
/// 4. The reference replaces the key file in one rename (temporary file, fsync, rename,
///    fsync the directory): at every moment the directory holds either the key file or a
///    reference to a key the token holds.
///
/// Entries that are references already are passed over, so it can be run again until it
/// reports nothing left. The helper must be stopped: its lock on KEY_DIR is taken.
public enum KeyImport {
    public struct Summary: Sendable {
        public var imported: [String] = []
        public var alreadyInToken: [String] = []
        public var failed: [String] = []
    }

    public static func run<Family: KeyFamily>(family: Family, settings: HelperSettings, token: Pkcs11Token,
                                              includeModuleKey: Bool,
                                              report: (String) -> Void) throws(SecmodError) -> Summary {
        let owner: UInt32
        do throws(Errno) { owner = try FileSystem.status(settings.keyDirectory).uid } catch {
            throw error.error("KEY_DIR \(settings.keyDirectory)")
        }
        guard owner == UInt32(geteuid()) else {
            throw SecmodError(.permission, "KEY_DIR \(settings.keyDirectory) belongs to uid \(owner); run the import as the helper's user (for example with sudo -u), so that the references it writes are the helper's")
        }
        let lock = try FileLock(path: settings.keyDirectory + "/" + KeyDirectory.lockFileName, what: "KEY_DIR \(settings.keyDirectory) (stop the helper first)")
        defer { _ = lock }
        let moduleKey = try SecurityModuleKey.load(path: settings.securityModuleKeyPath, token: token)
        let store = TokenKeyStore(token: token, storeID: TokenKeyStore.storeID(section: settings.section,
                                                                               securityModulePublicKey: moduleKey.publicKey))
        var summary = Summary()
        for (index, group) in family.groups.enumerated() {
            let algorithm = family.algorithm(group: index)
            for entry in try group.directory.scan(plausibleSize: family.isPlausibleKeyFileSize) {
                guard case let .key(anchor, path) = entry else { continue }
                let label = ([settings.section] + (group.name.isEmpty ? [] : [group.name]) + [String(anchor.seconds)]).joined(separator: "/")
                do throws(SecmodError) {
                    switch try importKey(at: path, algorithm: algorithm, store: store, label: label, rsaEngine: family.fileStore,
                                         id: { store.storeID + derivedID($0, count: TokenKeyStore.idByteCount - TokenKeyStore.storeIDByteCount) },
                                         write: { (bytes) throws(SecmodError) in try group.directory.store(anchor: anchor, public: bytes, replacing: true) }) {
                    case .imported: summary.imported.append(path); report("imported \(path) as '\(label)'")
                    case .alreadyInToken: summary.alreadyInToken.append(path)
                    }
                } catch {
                    summary.failed.append(path)
                    report("not imported: \(path): \(error)")
                }
            }
        }
        if includeModuleKey {
            let path = settings.securityModuleKeyPath
            let label = settings.section + "/security-module-key"
            do throws(SecmodError) {
                let directory = FileSystem.directoryName(of: path)
                let name = FileSystem.baseName(of: path)
                switch try importKey(at: path, algorithm: .ed25519, store: store, label: label, rsaEngine: FileKeyStore(),
                                     id: { derivedID($0, count: TokenKeyStore.idByteCount) },
                                     write: { (bytes) throws(SecmodError) in
                                         try bytes.withUnsafeBytes { b in
                                             Result { () throws(SecmodError) in
                                                 try FileSystem.writeAtomically(directory: directory, name: name, mode: 0o400,
                                                                                existing: .replace, contents: b)
                                             }
                                         }.get()
                                     }) {
                case .imported: summary.imported.append(path); report("imported the security module key \(path) as '\(label)'")
                case .alreadyInToken: summary.alreadyInToken.append(path)
                }
            } catch {
                summary.failed.append(path)
                report("not imported: \(path): \(error)")
            }
        }
        return summary
    }

    private enum Outcome { case imported, alreadyInToken }

    /// One key: see the type's comment. `id` derives the object's CKA_ID from the public key.
    private static func importKey(at path: String, algorithm: KeyAlgorithm, store: TokenKeyStore, label: String,
                                  rsaEngine: FileKeyStore, id makeID: ([UInt8]) -> [UInt8],
                                  write: ([UInt8]) throws(SecmodError) -> Void) throws(SecmodError) -> Outcome {
        let contents = try KeyDirectory.readEntry(path: path, maximumSize: 16 * 1024)
        if contents.withUnsafeBytes({ KeyReference.isReference($0) }) { return .alreadyInToken }
        let token = store.token
        let check = Array(SHA512.hash(Array("swift-secmod keys import: the token's key must sign as the file's".utf8)))
        let reference: KeyReference
        let expected: [UInt8]
        var created = false
        switch try rsaEngine.load(algorithm, contents: contents) {
        case let .ed25519(key):
            let id = makeID(key.publicKey)
            expected = try key.sign(check)
            if !(try token.hasPrivateKey(id: id)) {
                var seed = contents.withUnsafeBytes { Array($0) }
                defer { seed.withUnsafeMutableBufferPointer { for i in $0.indices { $0[i] = 0 } } }
                try token.importEd25519(seed: seed, id: id, label: label)
                created = true
            }
            reference = KeyReference(token: token.label, id: id, algorithm: .ed25519, publicKey: key.publicKey)
        case let .rsa(key):
            let id = makeID(key.publicKey.encoded())
            let message = Array(check.prefix(key.publicKey.modulus.count - 1))
            expected = try key.sign(blindedMessage: message)
            if !(try token.hasPrivateKey(id: id)) {
                var numbers = try key.privateNumbers()
                defer { numbers.wipe() }
                try token.importRsa(numbers, id: id, label: label)
                created = true
            }
            reference = KeyReference(token: token.label, id: id, algorithm: algorithm, publicKey: key.publicKey.encoded())
        case .clauseSchnorr:
            throw TokenKeyStore.noClauseSchnorr
        }
        let imported = try store.open(reference, path: path)
        let signature: [UInt8]
        switch imported {
        case let .ed25519(key): signature = try key.sign(check)
        case let .rsa(key): signature = try key.sign(blindedMessage: Array(check.prefix(key.publicKey.modulus.count - 1)))
        case .clauseSchnorr: throw TokenKeyStore.noClauseSchnorr
        }
        guard signature == expected else {
            // Never leave a wrong key behind a right id; one found from an earlier run stays
            // for the operator to look at.
            if created { try? token.destroyPrivateKey(id: reference.id) }
            throw SecmodError(.crypto, "the token's copy of \(path) signs differently from the file; the key file is kept")
        }
        try write(reference.encoded())
        return .imported
    }

    /// The first `count` bytes of SHA-512 over a fixed label and the public key.
    private static func derivedID(_ publicKey: [UInt8], count: Int) -> [UInt8] {
        Array(SHA512.hash(Array("swift-secmod imported key\0".utf8) + publicKey).prefix(count))
    }

}
