import Foundation
import SecmodSystem
import Testing

/// Builds and runs the C checkers in Tests/Interop/ against libgnunetutil (Debian's
/// libgnunet-dev, which contrib/test.sh installs). A missing library fails the test: a
/// cross-check that silently skips is no cross-check.
enum GnunetReferee {
    static let interop = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Interop").path

    private static let built = Locked<[String: Result<String, HelperTestError>]>([:])

    /// Compiles `Tests/Interop/<tool>.c` once per test run.
    static func binary(_ tool: String) -> Result<String, HelperTestError> {
        built.withLock { cache in
            if let done = cache[tool] { return done }
            let result = compile(tool)
            cache[tool] = result
            return result
        }
    }

    private static func compile(_ tool: String) -> Result<String, HelperTestError> {
        let out = FileManager.default.temporaryDirectory.path + "/secmod-\(tool)-\(getpid())"
        let flags = run("/bin/sh", ["-c", "pkg-config --cflags --libs gnunetutil"])
        guard flags.status == 0 else {
            return .failure(HelperTestError("pkg-config gnunetutil failed; install libgnunet-dev (contrib/test.sh does)"))
        }
        let extra = tool == "jansson-dump" ? "-ljansson" : ""  // libjansson-dev (contrib/test.sh installs it)
        let cc = run("/bin/sh", ["-c", "cc -o '\(out)' '\(interop)/\(tool).c' \(flags.output) \(extra)"])
        guard cc.status == 0 else { return .failure(HelperTestError("compiling \(tool).c failed: \(cc.output)")) }
        return .success(out)
    }

    /// Runs the EdDSA and base32 checker, gnunet-check.c.
    static func check(_ arguments: [String]) throws -> (status: Int32, output: String) {
        run(try binary("gnunet-check").get(), arguments)
    }

    /// Runs another checker in Tests/Interop/.
    static func check(tool: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        run(try binary(tool).get(), arguments)
    }

    static func run(_ executable: String, _ arguments: [String]) -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        do { try p.run() } catch { return (127, "\(error)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

func hexString(_ bytes: [UInt8]) -> String {
    bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
}
