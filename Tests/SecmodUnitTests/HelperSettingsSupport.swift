import SecmodBase
import SecmodConfig
import SecmodServer

/// `[taler-exchange-secmod-eddsa]` as the helper reads it: the compiled-in defaults, test
/// paths, then `extra` in the section.
func eddsaSettings(_ extra: String) throws(SecmodError) -> HelperSettings {
    var c = Configuration(environment: [:])
    let defaults = BuiltinDefaults.files.first { $0.name == "taler-exchange-secmod-eddsa.conf" }!.text
    try c.load(text: "[PATHS]\nTALER_DATA_HOME = /srv/taler-test/\nTALER_RUNTIME_DIR = /run/taler-test/\n" + defaults, fileName: "defaults.conf")
    try c.load(text: "[taler-exchange-secmod-eddsa]\n" + extra + "\n", fileName: "test.conf")
    return try HelperSettings(configuration: c, section: "taler-exchange-secmod-eddsa", extraOptions: ["duration"])
}
