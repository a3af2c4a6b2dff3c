import SecmodBase
import SecmodHelperMain
import SecmodServer

/// Kept out of `main.swift`: top-level code there is main-actor code, and the engine's
/// threads must not inherit that.
enum RsaHelper {
    static func main() -> Int32 {
        HelperMain.run(
            program: "taler-exchange-secmod-rsa",
            summary: "Security module holding the exchange's RSA denomination keys (blind signing).",
            sectionSuffix: RsaFamily.sectionSuffix, extraOptions: RsaFamily.extraOptions
        ) { (configuration, settings) throws(SecmodError) in
            try RsaFamily(configuration: configuration, settings: settings)
        }
    }
}
