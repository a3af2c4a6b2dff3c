import SecmodBase
import SecmodKeys
import SecmodSystem
#if canImport(Glibc)
import Glibc
#endif

/// Everything a helper checks of its key store before it reads a key: KEY_DIR, every
/// denomination's directory and the key files in them, AUDIT_DIR and SM_PRIV_KEY. The
/// helper runs it at start; `secmod takeover` runs the same inspection ahead of a switch
/// from Taler's C helpers, so that every problem is known before the first start.
public enum KeyStoreInspection {
    public static func inspect<Family: KeyFamily>(family: Family, settings: HelperSettings,
                                                  owner: UInt32 = UInt32(geteuid())) -> PrivateStorage.Report {
        var report = PrivateStorage.Report()
        PrivateStorage.inspectDirectory(settings.keyDirectory, what: "KEY_DIR", keyFiles: family.isPlausibleKeyFileSize, owner: owner, into: &report)
        for group in family.groups where group.directory.path != settings.keyDirectory {
            PrivateStorage.inspectDirectory(group.directory.path, what: "KEY_DIR subdirectory", keyFiles: family.isPlausibleKeyFileSize, owner: owner, into: &report)
        }
        PrivateStorage.inspectDirectory(settings.auditDirectory, what: "AUDIT_DIR", keyFiles: nil, owner: owner, into: &report)
        PrivateStorage.inspectSecretFile(settings.securityModuleKeyPath, what: "SM_PRIV_KEY", owner: owner, into: &report)
        if let token = settings.pkcs11 {
            PrivateStorage.inspectSecretFile(token.pinFile, what: "PKCS11_PIN_FILE", owner: owner, into: &report)
        }
        return report
    }
}
