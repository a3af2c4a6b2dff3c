import SecmodBase
import SecmodSystem

extension Configuration {
    /// GNUnet's `GNUNET_STRINGS_filename_expand`: absolute paths are kept, a leading `~`
    /// becomes `$HOME`, anything else is joined to the current directory.
    ///
    /// The result is deliberately not normalised (`a//b` and `./x` stay as they are): the C
    /// client library computes socket and key paths the same way, and a helper that
    /// "cleaned" them would, for instance, produce a different `UNIXPATH` string than the
    /// exchange expects in its error messages and length checks.
    ///
    /// Like GNUnet, `~name` is *not* another user's home: it is `$HOME/name`.
    func expandFilename(_ path: String) throws(SecmodError) -> String {
        if path.hasPrefix("/") { return path }
        var base: String
        var rest: Substring
        if path.hasPrefix("~") {
            guard let home = environment["HOME"] else {
                throw SecmodError(.configValue, "cannot expand '~' in '\(path)': the environment variable HOME is not set")
            }
            base = home
            rest = path.dropFirst()
            if rest.hasPrefix("/") { rest = rest.dropFirst() }
        } else {
            base = try ConfigFileSystem.currentDirectory()
            rest = Substring(path)
        }
        if !base.hasSuffix("/") { base += "/" }
        return base + rest
    }
}
