import Foundation
import SecmodSystem

/// Builds the small C programs in Tests/Probes/ (attacks and faults no Swift test can make
/// from inside its own process) with the system's cc, once per test run.
enum Probes {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Probes").path

    private static let built = Locked<[String: Result<String, HelperTestError>]>([:])

    /// `Tests/Probes/<name>.c` built with `flags`; the output lands in a world-readable
    /// temporary file, so that test users can run it.
    static func binary(_ name: String, flags: String = "", suffix: String = "") -> Result<String, HelperTestError> {
        built.withLock { cache in
            if let done = cache[name] { return done }
            let out = FileManager.default.temporaryDirectory.path + "/secmod-\(name)-\(getpid())\(suffix)"
            let cc = GnunetReferee.run("/bin/sh", ["-c", "cc -O1 -Wall -o '\(out)' \(flags) '\(directory)/\(name).c'"])
            let result: Result<String, HelperTestError> = cc.status == 0 ? .success(out)
                : .failure(HelperTestError("compiling Tests/Probes/\(name).c failed: \(cc.output)"))
            if cc.status == 0 { chmod(out, 0o755) }
            cache[name] = result
            return result
        }
    }
}
