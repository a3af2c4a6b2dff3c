import SecmodBase
import SecmodConfig
import SecmodSystem

/// The token a helper's PKCS#11 key store uses: its vendor's library, its label and the
/// file with the user PIN. All three or none.
public struct Pkcs11Settings: Sendable, Equatable {
    /// `PKCS11_MODULE`: the absolute path of the token's PKCS#11 library.
    public let module: String
    /// `PKCS11_TOKEN`: the token's label (`CKA_LABEL` of the token, as `pkcs11-tool -L`
    /// shows it). Labels, not slot numbers: slot numbers change.
    public let token: String
    /// `PKCS11_PIN_FILE`: the user PIN, mode 0400 and owned by the helper like SM_PRIV_KEY.
    public let pinFile: String

    package init?(configuration c: Configuration, section: String) throws(SecmodError) {
        let module = try c.string(section: section, option: "PKCS11_MODULE")
        let token = try c.string(section: section, option: "PKCS11_TOKEN")
        let pin = try c.string(section: section, option: "PKCS11_PIN_FILE")
        if module == nil, token == nil, pin == nil { return nil }
        guard module?.isEmpty == false, let token, !token.isEmpty, pin?.isEmpty == false else {
            throw SecmodError(.configMissing, "[\(section)] PKCS11_MODULE, PKCS11_TOKEN and PKCS11_PIN_FILE go together: set all three or none")
        }
        guard token.utf8.count <= 32 else {
            throw SecmodError(.configValue, "[\(section)] PKCS11_TOKEN: a token label has at most 32 bytes")
        }
        self.module = FileSystem.tidyPath(try c.require(c.filename(section: section, option: "PKCS11_MODULE"), section: section, option: "PKCS11_MODULE"))
        self.token = token
        pinFile = FileSystem.tidyPath(try c.require(c.filename(section: section, option: "PKCS11_PIN_FILE"), section: section, option: "PKCS11_PIN_FILE"))
    }
}
