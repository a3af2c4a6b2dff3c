import ArgumentParser
import SecmodBase
import SecmodConfig
import SecmodKeys
import SecmodServer
import SecmodSystem

/// `secmod keys import --to pkcs11`: the helper's key files into its token (`KeyImport`).
struct KeysImport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Move a stopped helper's key files into its PKCS#11 token.",
        discussion: """
            Run it as the helper's user with the helper stopped; the configuration's helper section
            names the token (PKCS11_MODULE, PKCS11_TOKEN, PKCS11_PIN_FILE). Each key is imported
            (sensitive, not extractable), must sign exactly as its file does, and only then is its
            file replaced by a reference to it. The security module key is imported too when
            SM_KEY_STORE = pkcs11. Interrupted, it can be run again: keys already moved are passed
            over, and none is lost. Set KEY_STORE = pkcs11 so that new keys are made in the token.
            """)

    enum Store: String, ExpressibleByArgument { case pkcs11 }

    @Option(name: .long, help: "Which helper: eddsa or rsa (cs keys cannot move into a token).")
    var helper: HelperKind = .eddsa

    @Option(name: [.customShort("c"), .long], help: "Configuration file (as given to the helper).")
    var config: String?

    @Option(name: .long, help: "Where the keys go: pkcs11.")
    var to: Store

    @Option(name: .long, help: "The section prefix the helper runs with (its --section-prefix).")
    var sectionPrefix = "taler-exchange"

    func run() throws {
        let summary: KeyImport.Summary
        let settings: HelperSettings
        do throws(SecmodError) {
            let c = try TalerConfiguration.load(file: config)
            let section = "\(sectionPrefix)-secmod-\(helper.rawValue)"
            switch helper {
            case .eddsa:
                settings = try HelperSettings(configuration: c, section: section, extraOptions: EddsaFamily.extraOptions)
                summary = try Self.run(family: try EddsaFamily(configuration: c, settings: settings), settings: settings)
            case .rsa:
                settings = try HelperSettings(configuration: c, section: section, extraOptions: RsaFamily.extraOptions)
                summary = try Self.run(family: try RsaFamily(configuration: c, settings: settings), settings: settings)
            case .cs:
                throw TokenKeyStore.noClauseSchnorr
            }
        } catch {
            throw CLIError(error)
        }
        print("\(summary.imported.count) imported, \(summary.alreadyInToken.count) already in the token, \(summary.failed.count) not imported")
        if settings.keyStore != .pkcs11 {
            print("note: [\(settings.section)] KEY_STORE is not pkcs11: new keys will still be made in files")
        }
        if !summary.failed.isEmpty { throw ExitCode(1) }
    }

    static func run<Family: KeyFamily>(family: Family, settings: HelperSettings) throws(SecmodError) -> KeyImport.Summary {
        guard let token = try HelperToken.connect(family: family, settings: settings, forImport: true, log: { _, message in
            print(message)
        }) else {
            throw SecmodError(.configMissing, "[\(settings.section)] names no token: set PKCS11_MODULE, PKCS11_TOKEN and PKCS11_PIN_FILE")
        }
        return try KeyImport.run(family: family, settings: settings, token: token,
                                 includeModuleKey: settings.securityModuleKeyStore == .pkcs11) { print($0) }
    }
}
