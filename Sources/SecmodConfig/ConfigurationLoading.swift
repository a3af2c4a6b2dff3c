import SecmodBase
import SecmodSystem

extension Configuration {
    /// Parses one file and merges it in (later values override earlier ones). Follows `@INLINE@` includes.
    ///
    /// The path is `~`-expanded and made absolute first, as GNUnet's
    /// `GNUNET_CONFIGURATION_parse` does, so locations in messages are unambiguous even when
    /// the helper was started with a relative `-c`. On error `self` is left unchanged.
    public mutating func load(file path: String) throws(SecmodError) {
        let absolute = try expandFilename(path)
        var copy = self
        try copy.parseFile(at: absolute, includeStack: [], secretSection: nil)
        self = copy
    }

    /// Parses text as if it were the file `fileName` (for tests and for embedded defaults).
    /// Relative `@INLINE@` paths resolve against `fileName`'s directory.
    public mutating func load(text: String, fileName: String) throws(SecmodError) {
        let identity = try canonicalIdentity(of: fileName)
        let context = ConfigurationParser.FileContext(
            displayName: fileName,
            baseDirectory: ConfigFileSystem.directoryPart(identity),
            includeStack: [identity],
            secretSection: nil)
        let lines = try ConfigurationParser.lines(of: Array(text.utf8), fileName: fileName)
        var copy = self
        try copy.parse(lines: lines, context: context)
        self = copy
    }

    /// Loads every `*.conf` in a directory, in sorted name order (GNUnet's `config.d` defaults). A missing directory is not an error.
    ///
    /// Files whose name does not end in `.conf` are skipped. (GNUnet 0.19-0.21's
    /// `GNUNET_CONFIGURATION_load_from` stops at the first such file and silently drops
    /// every file sorting after it; that is a bug, not a contract, so it is not copied.)
    public mutating func loadDefaults(directory: String) throws(SecmodError) {
        let absolute = try expandFilename(directory)
        guard let names = try ConfigFileSystem.directoryEntries(absolute) else { return }
        let confs = names.filter { $0.hasSuffix(".conf") }.sorted(by: ConfigFileSystem.strcmpLess)
        let prefix = absolute.hasSuffix("/") ? absolute : absolute + "/"
        var copy = self
        for name in confs {
            try copy.parseFile(at: prefix + name, includeStack: [], secretSection: nil)
        }
        self = copy
    }

    /// The identity used to detect include cycles: the resolved path when the file exists
    /// (so `a.conf` and `./a.conf` and a symlink to it are the same file), else the
    /// absolute path.
    func canonicalIdentity(of path: String) throws(SecmodError) -> String {
        if let resolved = ConfigFileSystem.realPath(path) { return resolved }
        return try expandFilename(path)
    }

    mutating func parseFile(at path: String, includeStack: [String], secretSection: String?) throws(SecmodError) {
        let bytes = try ConfigFileSystem.readFile(path)
        let identity = ConfigFileSystem.realPath(path) ?? path
        let context = ConfigurationParser.FileContext(
            displayName: path,
            // GNUnet resolves relative includes against the *real* location of the
            // including file, so a symlinked taler.conf still finds its siblings.
            baseDirectory: ConfigFileSystem.directoryPart(identity),
            includeStack: includeStack + [identity],
            secretSection: secretSection)
        let lines = try ConfigurationParser.lines(of: bytes, fileName: path)
        try parse(lines: lines, context: context)
    }

    // MARK: - Directives

    /// `@INLINE@ path`, `@INLINE-MATCHING@ glob` and `@INLINE-SECRET@ section path`,
    /// directive names case-insensitive, as in GNUnet. Unknown directives are errors.
    mutating func handleDirective(_ line: Substring, at location: SourceLocation,
                                  context: ConfigurationParser.FileContext) throws(SecmodError) {
        if let secret = context.secretSection {
            throw SecmodError(.configSyntax, "\(location): directives are not allowed in a file loaded with @INLINE-SECRET@ for section [\(secret)]")
        }
        let afterAt = line.dropFirst()
        guard let close = afterAt.firstIndex(of: "@") else {
            throw SecmodError(.configSyntax, "\(location): bad directive: missing closing '@'; expected '@INLINE@ file'")
        }
        let directive = String(afterAt[..<close])
        let argument = Substring(ConfigurationParser.leadingTrimmed(afterAt[afterAt.index(after: close)...].unicodeScalars))

        switch directive.asciiLowercased {
        case "inline":
            let path = try directivePath(String(argument), directive: directive, at: location, context: context)
            try include(path: path, at: location, context: context)
        case "inline-matching":
            let pattern = try directivePath(String(argument), directive: directive, at: location, context: context)
            let matches: [String]
            do throws(SecmodError) {
                matches = try ConfigFileSystem.matchingPaths(pattern)
            } catch {
                throw SecmodError(error.code, "\(location): @\(directive)@: \(error.message)", errno: error.errno)
            }
            for path in matches.sorted(by: ConfigFileSystem.strcmpLess) {
                try include(path: path, at: location, context: context)
            }
        case "inline-secret":
            // GNUnet splits the section name off at the first space (not tab).
            guard let space = argument.firstIndex(of: " ") else {
                throw SecmodError(.configSyntax, "\(location): bad @\(directive)@ directive; expected '@INLINE-SECRET@ section file'")
            }
            let section = String(argument[..<space])
            let rest = Substring(ConfigurationParser.leadingTrimmed(argument[argument.index(after: space)...].unicodeScalars))
            let path = try directivePath(String(rest), directive: directive, at: location, context: context)
            try includeSecret(section: section, path: path, at: location, context: context)
        default:
            throw SecmodError(.configSyntax, "\(location): unknown directive '@\(directive)@'; expected @INLINE@, @INLINE-MATCHING@ or @INLINE-SECRET@")
        }
    }

    /// Absolute paths are used as they are; relative ones are joined to the including
    /// file's directory. No `$` or `~` expansion, matching GNUnet's `handle_inline`.
    func directivePath(_ argument: String, directive: String, at location: SourceLocation,
                       context: ConfigurationParser.FileContext) throws(SecmodError) -> String {
        if argument.isEmpty {
            throw SecmodError(.configSyntax, "\(location): @\(directive)@ without a file name")
        }
        if argument.hasPrefix("/") { return argument }
        return context.baseDirectory + "/" + argument
    }

    mutating func include(path: String, at location: SourceLocation,
                          context: ConfigurationParser.FileContext) throws(SecmodError) {
        let identity = ConfigFileSystem.realPath(path) ?? path
        if context.includeStack.contains(identity) {
            let chain = (context.includeStack + [identity]).joined(separator: " -> ")
            throw SecmodError(.configSyntax, "\(location): @INLINE@ cycle: '\(path)' is already being loaded (\(chain))")
        }
        do throws(SecmodError) {
            try parseFile(at: path, includeStack: context.includeStack, secretSection: nil)
        } catch {
            throw Self.includedFrom(error, location)
        }
    }

    /// `@INLINE-SECRET@`: only `section` is taken from the file. An unreadable file is not
    /// an error: GNUnet marks the section inaccessible, because the exchange's shared
    /// configuration names secrets (database passwords, bank credentials) that the helper
    /// users are intentionally not allowed to read.
    mutating func includeSecret(section: String, path: String, at location: SourceLocation,
                                context: ConfigurationParser.FileContext) throws(SecmodError) {
        let key = ensureSection(section)
        guard ConfigFileSystem.isReadable(path) else {
            sections[key]!.inaccessible = InaccessibleSecret(path: path, includedFrom: location)
            return
        }
        var secret = Configuration(environment: environment)
        do throws(SecmodError) {
            try secret.parseFile(at: path, includeStack: context.includeStack, secretSection: section)
        } catch {
            throw Self.includedFrom(error, location)
        }
        guard let parsed = secret.sections[key] else { return }
        for optionKey in parsed.order {
            let entry = parsed.entries[optionKey]!
            store(section: sections[key]!.name, option: entry.name, value: entry.value, location: entry.location)
        }
    }

    /// Adds the include chain to an error from a nested file, so "line 3 of keys.conf"
    /// also says which file pulled `keys.conf` in.
    static func includedFrom(_ error: SecmodError, _ location: SourceLocation) -> SecmodError {
        SecmodError(error.code, "\(error.message) (included from \(location))", errno: error.errno, talerCode: error.talerCode)
    }
}
