import SecmodSystem
import Testing

/// `dirname(1)` and `basename(1)` as the key stores split SM_PRIV_KEY and reference paths.
@Suite struct PathNameTests {
    @Test(arguments: [
        ("/var/lib/taler/secmod-private-key", "/var/lib/taler", "secmod-private-key"),
        ("/a/b/", "/a", "b"),
        ("/a", "/", "a"),
        ("b", ".", "b"),
        ("/", "/", "/"),
        ("//a//b", "//a", "b"),
    ])
    func splitsAsCoreutils(_ path: String, _ directory: String, _ base: String) {
        #expect(FileSystem.directoryName(of: path) == directory)
        #expect(FileSystem.baseName(of: path) == base)
    }
}
