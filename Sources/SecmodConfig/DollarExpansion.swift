import SecmodBase
import SecmodSystem

extension Configuration {
    /// GNUnet `$VAR`, `${VAR}`, `${VAR:-default}` expansion (`GNUNET_CONFIGURATION_expand_dollar`).
    ///
    /// - `VAR` is looked up in `[PATHS]` first (case-insensitively, like any option), then
    ///   in the environment (case-sensitively). A value that is set but empty counts as set
    ///   — unlike the shell's `:-`, GNUnet only falls back to the default when the variable
    ///   is absent from both.
    /// - Whatever is found (a `[PATHS]` value, an environment value or the default) is
    ///   itself expanded, so defaults nest: `${TMPDIR:-${TMP:-/tmp}}`.
    /// - `$VAR` without braces ends at `/`, `\`, a space or the end of the value; that
    ///   terminator is kept. `${VAR:=x}` and `${VAR:x}` behave like `${VAR:-x}`.
    /// - An undefined variable without a default, or a `${` without its `}`, is left in the
    ///   value literally (GNUnet logs a warning and does the same). The helpers then fail
    ///   visibly on a path containing `$NAME` rather than on a silently shortened one.
    /// - Unlike GNUnet — which recurses without bound and crashes on `[PATHS] A = $B`,
    ///   `B = $A` — a variable that refers back to itself, more than 128 nested levels, or
    ///   a result over 1 MiB is a `.configValue` error.
    public func expand(_ value: String) throws(SecmodError) -> String {
        var expander = DollarExpander(configuration: self)
        return try expander.expand(Array(value.unicodeScalars), depth: 0, active: [])
    }
}

/// One expansion run. It memoises each variable's expanded value because a `[PATHS]`
/// chain such as `A1 = $A0$A0`, `A2 = $A1$A1`, … would otherwise take exponential time.
struct DollarExpander {
    static let maximumDepth = 128
    static let maximumLength = 1 << 20

    let configuration: Configuration
    var cache: [String: String] = [:]

    init(configuration: Configuration) {
        self.configuration = configuration
    }

    private static func isPlainTerminator(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "/" || scalar == "\\" || scalar == " "
    }

    mutating func expand(_ text: [Unicode.Scalar], depth: Int, active: [String]) throws(SecmodError) -> String {
        if depth > Self.maximumDepth {
            throw SecmodError(.configValue, "$-expansion nested more than \(Self.maximumDepth) levels deep; is a variable defined in terms of itself?")
        }
        var output = String.UnicodeScalarView()
        var index = 0
        while index < text.count {
            guard text[index] == "$" else {
                output.append(text[index])
                index += 1
                continue
            }
            let name: String
            let fallback: [Unicode.Scalar]?
            let next: Int
            if index + 1 < text.count && text[index + 1] == "{" {
                // Find the matching brace; nested `${…}` in the default are balanced.
                var open = 1
                var end = index + 1
                while open > 0 {
                    end += 1
                    if end >= text.count { break }
                    if text[end] == "}" { open -= 1 } else if text[end] == "{" { open += 1 }
                }
                if open > 0 {
                    output.append("$")
                    index += 1
                    continue
                }
                let inner = Array(text[(index + 2)..<end])
                if let colon = inner.firstIndex(of: ":") {
                    name = String(String.UnicodeScalarView(inner[..<colon]))
                    var defaultText = inner[(colon + 1)...]
                    if let first = defaultText.first, first == "-" || first == "=" {
                        defaultText = defaultText.dropFirst()
                    }
                    fallback = Array(defaultText)
                } else {
                    name = String(String.UnicodeScalarView(inner))
                    fallback = nil
                }
                next = end + 1
            } else {
                var end = index + 1
                while end < text.count && !Self.isPlainTerminator(text[end]) { end += 1 }
                name = String(String.UnicodeScalarView(text[(index + 1)..<end]))
                fallback = nil
                next = end
            }
            if let resolved = try resolve(name: name, fallback: fallback, depth: depth, active: active) {
                output.append(contentsOf: resolved.unicodeScalars)
                index = next
            } else {
                // Left literally; scanning resumes right after the `$`, as GNUnet's outer
                // loop does, so `$UNDEFINED$HOME` still expands the second variable.
                output.append("$")
                index += 1
            }
            if output.count > Self.maximumLength {
                throw SecmodError(.configValue, "$-expansion produced more than \(Self.maximumLength) characters")
            }
        }
        return String(output)
    }

    private mutating func resolve(name: String, fallback: [Unicode.Scalar]?, depth: Int,
                                  active: [String]) throws(SecmodError) -> String? {
        let source: String
        let key: String
        let label: String
        if let value = configuration.rawValue(section: "PATHS", option: name) {
            source = value
            key = "PATHS\u{0}" + name.asciiLowercased
            label = "[PATHS] \(name)"
        } else if let value = configuration.environment[name] {
            source = value
            key = "ENV\u{0}" + name
            label = "environment variable \(name)"
        } else if let fallback {
            return try expand(fallback, depth: depth + 1, active: active)
        } else {
            return nil
        }
        if let cached = cache[key] { return cached }
        if active.contains(key) {
            let cycle = (active + [key]).map { $0.replacingNULPrefix() }.joined(separator: " -> ")
            throw SecmodError(.configValue, "$-expansion of \(label) refers back to itself (\(cycle)); break the cycle in [PATHS]")
        }
        let expanded = try expand(Array(source.unicodeScalars), depth: depth + 1, active: active + [key])
        cache[key] = expanded
        return expanded
    }
}

private extension String {
    /// Turns the internal cache key `PATHS\0name` / `ENV\0name` into `$name` for messages.
    func replacingNULPrefix() -> String {
        guard let nul = firstIndex(of: "\u{0}") else { return self }
        return "$" + self[index(after: nul)...]
    }
}
