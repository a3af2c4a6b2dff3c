import SecmodBase
import SecmodSystem

/// Line-by-line reading of one configuration file, following GNUnet's
/// `GNUNET_CONFIGURATION_deserialize`.
///
/// The grammar is GNUnet's, not INI in general: only whole-line comments (`#` or `%`),
/// no inline comments (`X = 5 # no` has the value `5 # no`), tabs and CRs count as spaces,
/// one pair of surrounding double quotes is removed, and anything unrecognised is an error
/// rather than being skipped — a silently ignored line is a setting the operator believes
/// is in force.
struct ConfigurationParser {
    /// How the file being parsed was reached; used for relative includes, cycle detection
    /// and to tell the operator which `@INLINE@` pulled a broken file in.
    struct FileContext {
        /// The name used in locations and messages.
        var displayName: String
        /// Directory that relative `@INLINE@` paths are resolved against.
        var baseDirectory: String
        /// Canonical identities of the files currently being parsed, outermost first.
        var includeStack: [String]
        /// Non-nil while parsing a file named by `@INLINE-SECRET@`: directives are refused
        /// there, so a secret file cannot pull in further files behind the operator's back.
        var secretSection: String?
    }

    /// GNUnet's whitespace after it has turned tabs and CRs into spaces (`isspace`).
    static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case " ", "\t", "\n", "\r", "\u{0B}", "\u{0C}": return true
        default: return false
        }
    }

    static func trimmed(_ text: Substring.UnicodeScalarView) -> Substring.UnicodeScalarView {
        var view = text
        while let first = view.first, isSpace(first) { view.removeFirst() }
        while let last = view.last, isSpace(last) { view.removeLast() }
        return view
    }

    static func leadingTrimmed(_ text: Substring.UnicodeScalarView) -> Substring.UnicodeScalarView {
        var view = text
        while let first = view.first, isSpace(first) { view.removeFirst() }
        return view
    }

    /// Splits raw bytes into lines on `\n` only (as GNUnet's `memchr` loop does) and
    /// rejects invalid UTF-8 per line, so the error can name the line instead of the
    /// whole file being mangled with replacement characters.
    static func lines(of bytes: [UInt8], fileName: String) throws(SecmodError) -> [String] {
        var result: [String] = []
        var start = 0
        var lineNumber = 0
        while start <= bytes.count {
            let end = bytes[start...].firstIndex(of: 0x0A) ?? bytes.count
            lineNumber += 1
            guard let line = String(validating: bytes[start..<end], as: UTF8.self) else {
                throw SecmodError(.configSyntax, "\(fileName):\(lineNumber): line is not valid UTF-8")
            }
            result.append(line)
            if end == bytes.count { break }
            start = end + 1
        }
        return result
    }
}

extension Configuration {
    /// Parses the lines of one file into `self`. Each file starts outside any section, as in
    /// GNUnet: an included file must open its own `[section]`, and the including file
    /// continues in the section it was in.
    mutating func parse(lines: [String], context: ConfigurationParser.FileContext) throws(SecmodError) {
        var currentSection: String?
        for (index, rawLine) in lines.enumerated() {
            let lineNumber = index + 1
            let location = SourceLocation(file: context.displayName, line: lineNumber)
            var scalars = String.UnicodeScalarView()
            for scalar in rawLine.unicodeScalars {
                scalars.append(scalar == "\t" || scalar == "\r" ? " " : scalar)
            }
            let line = ConfigurationParser.trimmed(Substring(String(scalars)).unicodeScalars)
            guard let first = line.first else { continue }
            if first == "#" || first == "%" { continue }

            if first == "@" {
                try handleDirective(Substring(line), at: location, context: context)
                continue
            }
            if first == "[" && line.last == "]" && line.count >= 2 {
                let name = line.dropFirst().dropLast()
                currentSection = String(Substring(name))
                continue
            }
            if let equals = line.firstIndex(of: "=") {
                let nameView = ConfigurationParser.trimmed(line[..<equals])
                let option = String(Substring(nameView))
                if option.isEmpty {
                    throw SecmodError(.configSyntax, "\(location): '=' without an option name before it; expected 'OPTION = value'")
                }
                guard let section = currentSection else {
                    throw SecmodError(.configSyntax, "\(location): option '\(option)' appears before any [section] header; add a section header above it")
                }
                var value = ConfigurationParser.trimmed(line[line.index(after: equals)...])
                if value.count >= 2 && value.first == "\"" && value.last == "\"" {
                    value = value.dropFirst().dropLast()
                }
                store(section: section, option: option, value: String(Substring(value)), location: location)
                continue
            }
            throw SecmodError(.configSyntax, "\(location): syntax error: expected '[section]', 'OPTION = value', '@INLINE@ file' or a comment starting with '#' or '%'")
        }
    }
}
