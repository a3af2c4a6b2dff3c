import SecmodBase
import SecmodHelperMain
import SecmodServer

/// Kept out of `main.swift`: top-level code there is main-actor code, and the engine's
/// threads must not inherit that.
enum EddsaHelper {
    static func main() -> Int32 {
        HelperMain.run(
            program: "taler-exchange-secmod-eddsa",
            summary: "Security module holding the exchange's online signing keys (Ed25519).",
            sectionSuffix: EddsaFamily.sectionSuffix, extraOptions: EddsaFamily.extraOptions
        ) { (configuration, settings) throws(SecmodError) in
            try EddsaFamily(configuration: configuration, settings: settings)
        }
    }
}
