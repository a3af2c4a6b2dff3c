import SecmodBase
import SecmodConfig
import SecmodKeys
@testable import SecmodServer
import SecmodSystem
import Testing

/// The key-store options of a helper's section (key-store.md §1).
@Suite struct KeyStoreSettingsTests {
    private func settings(_ extra: String) throws(SecmodError) -> HelperSettings {
        try eddsaSettings(extra)
    }

    static let token = "PKCS11_MODULE = /usr/lib/softhsm/libsofthsm2.so\nPKCS11_TOKEN = exchange\nPKCS11_PIN_FILE = /etc/taler/pin\n"

    @Test func filesByDefaultAndNoRequestTimeout() throws {
        let s = try settings("")
        #expect(s.keyStore == .file)
        #expect(s.securityModuleKeyStore == .file)
        #expect(s.pkcs11 == nil)
        #expect(s.requestTimeout == 0)
    }

    @Test func aTokenBringsATenSecondRequestTimeout() throws {
        let s = try settings(Self.token + "KEY_STORE = pkcs11\nSM_KEY_STORE = PKCS11")
        #expect(s.keyStore == .pkcs11)
        #expect(s.securityModuleKeyStore == .pkcs11)
        #expect(s.pkcs11?.module == "/usr/lib/softhsm/libsofthsm2.so")
        #expect(s.pkcs11?.token == "exchange")
        #expect(s.pkcs11?.pinFile == "/etc/taler/pin")
        #expect(s.requestTimeout == 10_000_000)
        #expect(try settings(Self.token + "REQUEST_TIMEOUT = 2500 ms").requestTimeout == 2_500_000)
        #expect(try settings("REQUEST_TIMEOUT = 1 s").requestTimeout == 1_000_000)
    }

    @Test(arguments: [
        ("KEY_STORE = pkcs11", SecmodError.Code.configMissing),
        ("SM_KEY_STORE = pkcs11", .configMissing),
        ("KEY_STORE = hsm", .configValue),
        ("PKCS11_MODULE = /usr/lib/softhsm/libsofthsm2.so", .configMissing),
        ("PKCS11_MODULE = /x.so\nPKCS11_TOKEN = \nPKCS11_PIN_FILE = /p", .configMissing),
        ("PKCS11_MODULE = /x.so\nPKCS11_TOKEN = \(String(repeating: "t", count: 33))\nPKCS11_PIN_FILE = /p", .configValue),
        ("PKCS11_SLOT = 0", .configValue),
    ])
    func refusesIncompleteOrUnknownStores(_ text: String, _ code: SecmodError.Code) {
        #expect(configError { () throws(SecmodError) in _ = try settings(text) }?.code == code, "\(text)")
    }
}
