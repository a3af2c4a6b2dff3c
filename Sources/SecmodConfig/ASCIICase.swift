/// Case folding as GNUnet does it.
///
/// GNUnet compares section, option, unit and choice names with `strcasecmp`, which folds
/// ASCII letters only. Using Swift's Unicode-aware `lowercased()` would make names such as
/// `[ÄRGER]` and `[ärger]` equal here but distinct in the C helpers; folding only ASCII
/// keeps both implementations agreeing on what counts as "the same option".
extension String {
    var asciiLowercased: String {
        var scalars = String.UnicodeScalarView()
        for scalar in unicodeScalars {
            if scalar.value >= 0x41 && scalar.value <= 0x5A {
                scalars.append(Unicode.Scalar(scalar.value + 0x20)!)
            } else {
                scalars.append(scalar)
            }
        }
        return String(scalars)
    }

    func asciiCaseInsensitiveEquals(_ other: String) -> Bool {
        asciiLowercased == other.asciiLowercased
    }
}
