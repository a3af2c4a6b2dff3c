/// Substring search over UTF-8 bytes, for the few places that look for a fixed marker in a
/// name (`.tmp-` in a temporary file's name, `-linux-` in a library directory).
///
/// The standard `String.contains(_: String)` lives in `_StringProcessing`; calling it links
/// that module and `_RegexParser` into every binary (about 0.8 MB of code, most of it
/// mapped in at run time) although no program here uses a regular expression. Names are
/// compared as bytes everywhere else in the project too (see `ASCIICase.swift`).
extension StringProtocol {
    public func containsBytes(_ needle: String) -> Bool {
        let haystack = Array(utf8), pattern = Array(needle.utf8)
        guard !pattern.isEmpty else { return true }
        guard haystack.count >= pattern.count else { return false }
        for start in 0...(haystack.count - pattern.count)
        where haystack[start..<(start + pattern.count)].elementsEqual(pattern) {
            return true
        }
        return false
    }
}
