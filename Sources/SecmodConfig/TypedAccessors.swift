import SecmodBase
import SecmodSystem

/// Typed reads of options. Each returns nil when the option is absent and throws
/// `.configValue` with `"<file>:<line>: [section] OPTION: <problem>"` when it is present but
/// unusable, so the operator is sent to the line that actually took effect.
///
/// Only `string` and `filename` `$`-expand, as GNUnet's `get_value_filename` does for paths;
/// numbers, times, sizes and choices are read literally, as in GNUnet.
extension Configuration {
    /// The `$`-expanded value. (GNUnet's `get_value_string` does not expand; use `rawValue`
    /// for that behaviour.)
    public func string(section: String, option: String) throws(SecmodError) -> String? {
        try read(section: section, option: option) { (configuration, raw) throws(SecmodError) in
            try configuration.expand(raw)
        }
    }

    /// `$`-expanded, `~` expanded, made absolute against the current directory
    /// (GNUnet's `GNUNET_CONFIGURATION_get_value_filename`); not normalised.
    public func filename(section: String, option: String) throws(SecmodError) -> String? {
        try read(section: section, option: option) { (configuration, raw) throws(SecmodError) in
            try configuration.expandFilename(configuration.expand(raw))
        }
    }

    /// A GNUnet relative time; "forever" is `RelativeTime.forever`.
    public func time(section: String, option: String) throws(SecmodError) -> RelativeTime? {
        try read(section: section, option: option) { (_, raw) throws(SecmodError) in
            try parseRelativeTime(raw)
        }
    }

    /// A non-negative decimal integer. Stricter than GNUnet's `sscanf("%llu")`, which also
    /// takes a sign (wrapping `-1` to 2⁶⁴−1) and saturates on overflow.
    public func number(section: String, option: String) throws(SecmodError) -> UInt64? {
        try read(section: section, option: option) { (_, raw) throws(SecmodError) in
            guard !raw.isEmpty, raw.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                throw SecmodError(.configValue, "'\(raw)' is not a number; expected a non-negative decimal integer such as '16'")
            }
            guard let value = UInt64(raw) else {
                throw SecmodError(.configValue, "'\(raw)' is too large; expected a decimal integer of at most \(UInt64.max)")
            }
            return value
        }
    }

    /// Bytes: "8 MiB", "4096", "1 KiB", "2 MB".
    public func size(section: String, option: String) throws(SecmodError) -> UInt64? {
        try read(section: section, option: option) { (_, raw) throws(SecmodError) in
            try parseByteSize(raw)
        }
    }

    /// YES/NO case-insensitive (GNUnet's `get_value_yesno`), also true/false.
    public func yesno(section: String, option: String) throws(SecmodError) -> Bool? {
        try read(section: section, option: option) { (_, raw) throws(SecmodError) in
            switch raw.asciiLowercased {
            case "yes", "true": return true
            case "no", "false": return false
            default:
                throw SecmodError(.configValue, "'\(raw)' is not a yes/no value; expected YES or NO")
            }
        }
    }

    /// Case-insensitive match, returns the canonical spelling from `among`.
    public func choice(section: String, option: String, among: [String]) throws(SecmodError) -> String? {
        try read(section: section, option: option) { (_, raw) throws(SecmodError) in
            if let match = among.first(where: { $0.asciiCaseInsensitiveEquals(raw) }) { return match }
            let list = among.map { "'\($0)'" }.joined(separator: ", ")
            throw SecmodError(.configValue, "'\(raw)' is not one of the allowed values; expected one of \(list)")
        }
    }

    /// Throws `.configMissing` naming the section and option (and that it may be set in the config file given with -c) when absent.
    public func require<T>(_ value: T?, section: String, option: String) throws(SecmodError) -> T {
        if let value { return value }
        throw SecmodError(.configMissing, "configuration option [\(section)] \(option) is not set; set it in section [\(section)] of the configuration file given with -c")
    }

    /// Looks the option up and runs `convert`, prefixing any error with where the value
    /// came from. Options of a section whose `@INLINE-SECRET@` file could not be read throw
    /// instead of reading as absent: "not set" would send the operator looking for a
    /// missing line when the real problem is a file permission.
    private func read<T>(section: String, option: String,
                         _ convert: (Configuration, String) throws(SecmodError) -> T) throws(SecmodError) -> T? {
        let sectionKey = section.asciiLowercased
        if let secret = sections[sectionKey]?.inaccessible {
            throw SecmodError(.configMissing, "\(secret.includedFrom): [\(sections[sectionKey]!.name)] \(option): the section comes from @INLINE-SECRET@ file '\(secret.path)', which this process cannot read; check its owner and mode")
        }
        guard let entry = sections[sectionKey]?.entries[option.asciiLowercased] else { return nil }
        do throws(SecmodError) {
            return try convert(self, entry.value)
        } catch {
            throw SecmodError(error.code, "\(entry.location): [\(sections[sectionKey]!.name)] \(entry.name): \(error.message)", errno: error.errno)
        }
    }
}
