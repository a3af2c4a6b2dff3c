import SecmodBase
import SecmodConfig
@testable import SecmodServer
import SecmodSystem
import Testing

/// Names compare as C compares them: ASCII letters fold, nothing else does.
@Suite struct ASCIIFoldingTests {
    @Test func onlyASCIILettersFold() {
        #expect("Key_Dir".asciiLowercased == "key_dir")
        #expect("\u{212A}EY_DIR".asciiLowercased == "\u{212A}ey_dir", "the Kelvin sign is not a K")
        #expect("r\u{017F}a".asciiUppercased == "R\u{017F}A", "long s is not an S")
        #expect("ÄRGER".asciiLowercased == "Ärger")
        #expect("coin_eur_1".asciiUppercased == "COIN_EUR_1")
        #expect(!"\u{212A}EY_DIR".asciiCaseInsensitiveEquals("key_dir"))
    }

    private func settings(_ extra: String) throws(SecmodError) -> HelperSettings {
        try eddsaSettings(extra)
    }

    /// `KEY_DIR` spelled with the Kelvin sign once passed the unknown-option check (Unicode
    /// folding made it `key_dir`) and was then ignored: the keys went to the default
    /// directory. It is an unknown option now.
    @Test func anOptionNameThatFoldsOnlyUnderUnicodeIsUnknown() throws {
        #expect(try settings("key_DIR = /srv/elsewhere").keyDirectory == "/srv/elsewhere", "ASCII case does not matter")
        #expect(configError { () throws(SecmodError) in _ = try settings("\u{212A}EY_DIR = /srv/elsewhere") }?.code == .configValue)
        #expect(configError { () throws(SecmodError) in _ = try settings("SESSION_MAX_INFLIGHT = 10") } == nil)
    }
}
