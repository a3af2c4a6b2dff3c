import Foundation

/// A private directory holding the only files a fuzzed configuration may include.
///
/// `@INLINE@` reads whatever path it is given, so an unchecked input could make the parser
/// read `/dev/zero` or glob the whole file system: hangs that say nothing about the parser.
/// The config target therefore refuses inputs whose directives contain a `/`, which keeps
/// every include relative to this directory, and puts a few files here for them to find.
final class ConfigSandbox: Sendable {
    static let shared = ConfigSandbox()

    /// What `$VAR` may find in the environment: fixed, so that a crasher replays the same
    /// way everywhere. `SELF` refers to itself, to reach the cycle check without effort.
    static let environment = [
        "HOME": "/home/fuzz",
        "TMPDIR": "/tmp",
        "NESTED": "${HOME}/nested/$TMPDIR",
        "SELF": "x${SELF}",
    ]

    /// Files an `@INLINE@`, `@INLINE-MATCHING@` or `@INLINE-SECRET@` may name.
    static let files = [
        "inline.conf": "[included]\nKEY = value\n[PATHS]\nINCLUDED = $HOME/included\n",
        "nested.conf": "@INLINE@ inline.conf\n[nested]\nDEPTH = 2\n",
        "loop.conf": "[loop]\nA = 1\n@INLINE@ loop.conf\n",
        "secret.conf": "[secret]\nPASSWORD = hunter2\n[other]\nIGNORED = yes\n",
        "broken.conf": "[broken]\nno equals sign here\n",
        "directive.conf": "@INLINE@ inline.conf\n",
    ]

    let directory: String
    /// The name the fuzzed text is loaded under; it does not exist, so it is no include target.
    var mainFile: String { directory + "/main.conf" }
    /// Where input that is not UTF-8 is written, to go through the file reader. It is in a
    /// subdirectory so that a `*` in the sandbox matches a directory here, never this file.
    var rawFile: String { directory + "/raw/input.conf" }

    private init() {
        let base = FileManager.default.temporaryDirectory.path
        directory = (base.hasSuffix("/") ? base : base + "/") + "secmod-fuzz-config-\(getpid())-\(UUID().uuidString)"
        do {
            try FileManager.default.createDirectory(atPath: directory + "/raw", withIntermediateDirectories: true)
            for (name, text) in Self.files {
                try Data(text.utf8).write(to: URL(fileURLWithPath: directory + "/" + name))
            }
        } catch {
            fatalError("cannot create the config fuzzing sandbox \(directory): \(error)")
        }
        atexit { try? FileManager.default.removeItem(atPath: ConfigSandbox.shared.directory) }
    }

    /// Whether every directive line stays inside the sandbox. Lines are split on `\n` and
    /// trimmed of the bytes the parser counts as space, as the parser does.
    static func admits(_ input: [UInt8]) -> Bool {
        var atLineStart = true
        var inDirective = false
        for byte in input {
            switch byte {
            case 0x0A:
                atLineStart = true
                inDirective = false
            case 0x20, 0x09, 0x0D, 0x0B, 0x0C:
                break
            default:
                if atLineStart && byte == UInt8(ascii: "@") { inDirective = true }
                if inDirective && byte == UInt8(ascii: "/") { return false }
                atLineStart = false
            }
        }
        return true
    }
}
