/// Case folding of ASCII letters only, as C's `strcasecmp`, `tolower` and `toupper` in the
/// "C" locale, which is how GNUnet and Taler compare section, option, unit, choice, cipher
/// and currency names.
///
/// Swift's `lowercased()`/`uppercased()` fold Unicode: the Kelvin sign `K` (U+212A) becomes
/// `k` and `ſ` (U+017F) becomes `S`, so a name could pass a check here yet mean something
/// else to the C programs, or to our own lookups, which fold ASCII only (a `KEY_DIR` spelled
/// with the Kelvin sign passed the unknown-option check and was then ignored). Every
/// comparison of such names goes through these two.
extension String {
    public var asciiLowercased: String {
        String(decoding: utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 0x20 : $0 }, as: UTF8.self)
    }

    public var asciiUppercased: String {
        String(decoding: utf8.map { $0 >= 0x61 && $0 <= 0x7A ? $0 - 0x20 : $0 }, as: UTF8.self)
    }

    public func asciiCaseInsensitiveEquals(_ other: String) -> Bool {
        asciiLowercased == other.asciiLowercased
    }
}
