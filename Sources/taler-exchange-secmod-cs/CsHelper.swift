import SecmodBase
import SecmodHelperMain
import SecmodServer

/// Kept out of `main.swift`: top-level code there is main-actor code, and the engine's
/// threads must not inherit that.
enum CsHelper {
    static func main() -> Int32 {
        HelperMain.run(
            program: "taler-exchange-secmod-cs",
            summary: "Security module holding the exchange's Clause-Schnorr denomination keys (blind signing).",
            sectionSuffix: CsFamily.sectionSuffix, extraOptions: CsFamily.extraOptions
        ) { (configuration, settings) throws(SecmodError) in
            try CsFamily(configuration: configuration, settings: settings)
        }
    }
}
