#if canImport(Glibc)
import Glibc
#endif
import SecmodBase

/// Path lookups the configuration loader needs (`@INLINE@`, `config.d`, `$`-expansion).
extension FileSystem {
    /// `access(R_OK)`: whether this process may read the file.
    public static func isReadable(_ path: String) -> Bool {
        access(path, R_OK) == 0
    }

    /// `access(X_OK)`: whether this process may execute the file.
    public static func isExecutable(_ path: String) -> Bool {
        access(path, X_OK) == 0
    }

    /// `realpath(3)`, or nil when the path does not resolve.
    public static func canonicalPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// `getcwd(3)`, growing the buffer for long paths.
    /// `path` with runs of `/` collapsed and a trailing `/` dropped: the same file on Linux,
    /// and what an operator expects to read in a log (`${TALER_RUNTIME_DIR}/x` with a
    /// runtime directory ending in `/` would otherwise show `/run/taler//x`).
    public static func tidyPath(_ path: String) -> String {
        var result = ""
        var previousSlash = false
        for c in path {
            if c == "/" {
                if previousSlash { continue }
                previousSlash = true
            } else {
                previousSlash = false
            }
            result.append(c)
        }
        if result.count > 1, result.hasSuffix("/") { result.removeLast() }
        return result
    }

    public static func currentDirectory() throws(Errno) -> String {
        var size = 4096
        while size <= 4 * 1024 * 1024 {
            var buffer = [CChar](repeating: 0, count: size)
            let found = buffer.withUnsafeMutableBufferPointer { getcwd($0.baseAddress, size) != nil }
            if found {
                let length = buffer.firstIndex(of: 0) ?? buffer.count
                return String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
            guard Errno.current.rawValue == ERANGE else { throw Errno.current }
            size *= 2
        }
        throw Errno(ERANGE)
    }

    /// `glob(3)` without flags: the matching paths, sorted as `glob` sorts them; no match is
    /// an empty list. A failure other than no match returns glob's status, not errno.
    public static func matchingPaths(_ pattern: String) -> (paths: [String], globFailure: Int32?) {
        var result = glob_t()
        defer { globfree(&result) }
        let status = glob(pattern, 0, nil, &result)
        if status == GLOB_NOMATCH { return ([], nil) }
        if status != 0 { return ([], status) }
        var paths: [String] = []
        for index in 0..<Int(result.gl_pathc) {
            if let path = result.gl_pathv[index] { paths.append(String(cString: path)) }
        }
        return (paths, nil)
    }
}
