/// Where the winning definition of an option came from.
///
/// Operators fix configuration by editing files, so every diagnostic about a value points
/// at the line that actually took effect — after overrides across `config.d`, `-c` and
/// `@INLINE@` files, that is often not the line they are looking at.
public struct SourceLocation: Sendable, Equatable, CustomStringConvertible {
    /// The file name as the loader saw it (absolute for files read from disk), or a label
    /// such as `"<override>"` for values set programmatically.
    public let file: String
    /// One-based line number; 0 when the value did not come from a file.
    public let line: Int

    public init(file: String, line: Int) {
        self.file = file
        self.line = line
    }

    /// `file:line`, the form editors and compilers use, so the message is clickable.
    public var description: String { "\(file):\(line)" }

    /// The location recorded for `Configuration.set(section:option:value:)`.
    static let override = SourceLocation(file: "<override>", line: 0)
}
