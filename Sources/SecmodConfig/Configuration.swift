import SecmodSystem

/// A GNUnet-style configuration: `[section]` / `OPTION = value` pairs merged from several
/// files, with `$`-expansion from `[PATHS]` and the environment.
///
/// It is a value type so that a load which fails half-way can be discarded as a whole:
/// every `load…` method parses into a copy and only replaces `self` on success, so callers
/// never act on a configuration that is missing the second half of a broken file
/// (GNUnet keeps whatever was parsed before the error).
public struct Configuration: Sendable {
    /// One option. The spelling of the first definition is kept for messages and listings,
    /// because that is usually the one in the shipped defaults the operator recognises.
    struct Entry: Sendable {
        var name: String
        var value: String
        var location: SourceLocation
    }

    /// Why a section's values cannot be read: its `@INLINE-SECRET@` file was not readable.
    struct InaccessibleSecret: Sendable {
        var path: String
        var includedFrom: SourceLocation
    }

    struct Section: Sendable {
        var name: String
        var entries: [String: Entry] = [:]
        /// Canonical (ASCII-lowercased) keys in first-seen order.
        var order: [String] = []
        /// Set when an `@INLINE-SECRET@` file for this section could not be read. GNUnet
        /// then treats the section as present but unreadable rather than failing the load,
        /// because helpers running as a less privileged user are not meant to see it.
        var inaccessible: InaccessibleSecret?
    }

    var sections: [String: Section] = [:]
    /// Canonical section keys in first-seen order.
    var sectionOrder: [String] = []
    /// Variables for `$VAR` expansion and `~`; injected so tests and callers control it.
    let environment: [String: String]

    /// An empty configuration with the environment used for `$VAR` expansion.
    public init(environment: [String: String] = ProcessEnvironment.current) {
        self.environment = environment
    }

    /// Sets a value programmatically (location: "<override>").
    public mutating func set(section: String, option: String, value: String) {
        store(section: section, option: option, value: value, location: .override)
    }

    /// The single place values enter the configuration, so "later wins, first spelling
    /// stays, location follows the winner" holds for files, includes and overrides alike.
    mutating func store(section: String, option: String, value: String, location: SourceLocation) {
        let sectionKey = section.asciiLowercased
        let optionKey = option.asciiLowercased
        if sections[sectionKey] == nil {
            sections[sectionKey] = Section(name: section)
            sectionOrder.append(sectionKey)
        }
        if var existing = sections[sectionKey]!.entries[optionKey] {
            existing.value = value
            existing.location = location
            sections[sectionKey]!.entries[optionKey] = existing
        } else {
            sections[sectionKey]!.entries[optionKey] = Entry(name: option, value: value, location: location)
            sections[sectionKey]!.order.append(optionKey)
        }
    }

    /// Creates the section if needed (used by `@INLINE-SECRET@`, which declares a section
    /// even when its file turns out to be unreadable).
    mutating func ensureSection(_ section: String) -> String {
        let key = section.asciiLowercased
        if sections[key] == nil {
            sections[key] = Section(name: section)
            sectionOrder.append(key)
        }
        return key
    }

    // MARK: - Inspection

    /// Section names as first written, in first-seen order.
    public var sectionNames: [String] {
        sectionOrder.map { sections[$0]!.name }
    }

    /// Option names of a section as first written, in first-seen order; empty when the
    /// section does not exist or its secret file was unreadable.
    public func optionNames(in section: String) -> [String] {
        guard let sec = sections[section.asciiLowercased], sec.inaccessible == nil else { return [] }
        return sec.order.map { sec.entries[$0]!.name }
    }

    public func hasSection(_ section: String) -> Bool {
        sections[section.asciiLowercased] != nil
    }

    /// The value exactly as written (quotes stripped, no expansion), or nil when absent.
    /// Options of a section whose `@INLINE-SECRET@` file was unreadable are absent, as in GNUnet.
    public func rawValue(section: String, option: String) -> String? {
        entry(section: section, option: option)?.value
    }

    public func location(section: String, option: String) -> SourceLocation? {
        entry(section: section, option: option)?.location
    }

    func entry(section: String, option: String) -> Entry? {
        guard let sec = sections[section.asciiLowercased], sec.inaccessible == nil else { return nil }
        return sec.entries[option.asciiLowercased]
    }

    /// Whether `section` was declared by an `@INLINE-SECRET@` whose file could not be read.
    public func isInaccessible(section: String) -> Bool {
        sections[section.asciiLowercased]?.inaccessible != nil
    }
}
