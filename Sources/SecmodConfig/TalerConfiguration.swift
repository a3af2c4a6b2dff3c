import SecmodBase
import SecmodSystem
#if canImport(Glibc)
import Glibc
#endif

/// Loads a configuration the way Taler's programs do (wire.md §9.1, §13.1): defaults
/// first, then the operator's file. Later values win.
///
/// Defaults come from, in order: the compiled-in copy of `etc/config.d`; then the first
/// `config.d` that exists of `$TALER_BASE_CONFIG`, or `<prefix>/share/taler/config.d` where
/// the prefix is `$TALER_PREFIX` (a trailing `lib/` stripped) or the parent of the `bin/`
/// holding this executable (of `lib/<package>/bin/`, where the Debian package puts it).
public enum TalerConfiguration {
    public static func load(file: String?, environment: [String: String] = ProcessEnvironment.current) throws(SecmodError) -> Configuration {
        var configuration = Configuration(environment: environment)
        for (name, text) in BuiltinDefaults.files {
            try configuration.load(text: text, fileName: "<built-in>/" + name)
        }
        if let directory = defaultsDirectory(environment: environment) {
            try configuration.loadDefaults(directory: directory)
        }
        if let file { try configuration.load(file: file) }
        return configuration
    }

    /// Where installed defaults live, if anywhere.
    public static func defaultsDirectory(environment: [String: String]) -> String? {
        if let base = environment["TALER_BASE_CONFIG"], !base.isEmpty { return base }
        var prefix: String?
        if let p = environment["TALER_PREFIX"], !p.isEmpty {
            prefix = stripLibrarySuffix(p)
        } else if let exe = executablePath() {
            prefix = installationPrefix(executable: exe)
        }
        guard let prefix else { return nil }
        let directory = (prefix.hasSuffix("/") ? prefix : prefix + "/") + "share/taler/config.d"
        return FileSystem.exists(directory) ? directory : nil
    }

    /// The prefix of a program installed as `<prefix>/bin/NAME`, or as
    /// `<prefix>/lib/<package>/bin/NAME`: the Debian package keeps the helpers out of
    /// /usr/bin, where Taler's own package has its helpers. Nil anywhere else (a build tree).
    public static func installationPrefix(executable: String) -> String? {
        let bin = parent(executable)
        guard bin.hasSuffix("/bin") else { return nil }
        let above = parent(bin), lib = parent(above)
        return lib.hasSuffix("/lib") ? parent(lib) : above
    }

    /// `/usr/local/lib/` → `/usr/local/`, also `lib/x86_64-linux-gnu/`.
    public static func stripLibrarySuffix(_ path: String) -> String {
        var parts = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        if parts.count >= 2, parts[parts.count - 2] == "lib", parts.last!.containsBytes("-linux-") { parts.removeLast(2) }
        else if parts.last == "lib" { parts.removeLast() }
        return "/" + parts.joined(separator: "/") + (parts.isEmpty ? "" : "/")
    }

    private static func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return String(path[..<slash])
    }

    private static func executablePath() -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
