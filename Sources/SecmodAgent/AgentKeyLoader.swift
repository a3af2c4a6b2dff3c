import Logging
import SecmodBase
import SecmodCrypto
import SecmodKeys
import SecmodPkcs11
import SecmodServer
import SecmodSystem
import SecmodWire

/// Loads the configured keys at start, creating each that does not exist yet: in the
/// key's store, durably (temp file, fsync, rename, fsync of the directory; mode 0400), as
/// the helpers make theirs. An existing key is never replaced; one that cannot be read
/// stops the agent, with the reason, and stays on disk.
///
/// Each key lives at `KEY_DIR/NAME/0`: a key file or a token key's reference, the same
/// entries as the helpers' key directories (one anchor, 0, since agent keys do not rotate).
struct AgentKeyLoader {
    let settings: AgentSettings
    let logger: Logger

    func loadAll() throws(SecmodError) -> [AgentKey] {
        let token = try connectToken()
        let fileStores = KeyStores(kind: .file, file: FileKeyStore(), token: token)
        let tokenStores = token.map { KeyStores(kind: .pkcs11, file: FileKeyStore(), token: $0) }
        let audit = AuditDirectory(path: settings.auditDirectory)
        var keys: [AgentKey] = []
        for key in settings.keys {
            let directory = KeyDirectory(path: settings.keyDirectory + "/" + key.name)
            let path = directory.filePath(anchor: Self.anchor)
            let stores = key.store == .pkcs11 ? tokenStores! : fileStores
            let stored: StoredKey
            var created = false
            if FileSystem.exists(path) {
                stored = try stores.load(key.algorithm, path: path, maximumFileSize: 64 << 10)
            } else {
                stored = try stores.create(key.algorithm, at: KeyLocation(directory: directory, anchor: Self.anchor,
                                                                         label: "secmod-agent/\(key.name)"), replacing: false)
                created = true
            }
            let inToken = Self.isReference(path)
            let agentKey = AgentKey(name: key.name, stored: stored, comment: key.comment, purposes: key.purposes, callers: key.callers,
                                    allowSHA1: key.allowSHA1, inToken: inToken,
                                    audit: AgentAudit(directory: audit, section: key.section, name: key.name, block: settings.auditBlock, logger: logger))
            let fingerprint = AgentCore.fingerprint(agentKey.blob)
            let place = inToken ? "in token '\(settings.pkcs11?.token ?? "")'" : path
            logger.notice("\(created ? "created" : "loaded") key \(key.name) (\(key.algorithm), \(fingerprint)) \(place); purposes \(AgentCore.describe(key.purposes))")
            if key.purposes.contains(.torHS), inToken {
                throw SecmodError(.configValue, "[\(key.section)] PURPOSES tor-hs, but the key is in a PKCS#11 token, which cannot blind")
            }
            keys.append(agentKey)
        }
        return keys
    }

    static let anchor = Timestamp(seconds: 0)

    static func isReference(_ path: String) -> Bool {
        guard let contents = try? KeyDirectory.readEntry(path: path, maximumSize: KeyReference.maximumSize) else { return false }
        return ((try? KeyReference.read(from: contents, path: path)) ?? nil) != nil
    }

    private func connectToken() throws(SecmodError) -> TokenKeyStore? {
        guard let configuration = settings.pkcs11 else { return nil }
        let needs = settings.keys.filter { $0.store == .pkcs11 }.map(\.algorithm)
        let token = try HelperToken.connect(configuration: configuration, algorithms: needs) { [logger] up, message in
            if up { logger.notice("\(message)") } else { logger.warning("\(message)") }
        }
        let storeID = TokenKeyStore.storeID(section: AgentSettings.section + ":" + settings.keyDirectory, securityModulePublicKey: [])
        return TokenKeyStore(token: token, storeID: storeID)
    }
}
