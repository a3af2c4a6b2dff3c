#if canImport(Glibc)
import Glibc
#endif

/// The process's environment variables, read from `environ` without Foundation (a key
/// holder should not carry Foundation and ICU for one dictionary).
public enum ProcessEnvironment {
    /// Every `NAME=value` entry; where a name appears twice, the first wins, as for `getenv`.
    public static var current: [String: String] {
        var variables: [String: String] = [:]
        var entry: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> = environ
        while let pointer = entry.pointee {
            let text = String(cString: pointer)
            if let equals = text.firstIndex(of: "=") {
                let name = String(text[..<equals])
                if variables[name] == nil { variables[name] = String(text[text.index(after: equals)...]) }
            }
            entry += 1
        }
        return variables
    }
}
