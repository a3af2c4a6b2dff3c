import Foundation
import SecmodFuzzTargets

/// The plain build's mode: each input once, in the order given, directories in name order.
/// Flags meant for libFuzzer (`-max_len=…`) are skipped, so one command line suits both builds.
enum Replay {
    static func run(_ target: FuzzTarget, arguments: [String]) -> Int32 {
        var count = 0
        for argument in arguments where !argument.hasPrefix("-") {
            guard let files = inputFiles(argument) else {
                FuzzCommand.sayError("secmod-fuzz: cannot read \(argument)")
                return 1
            }
            for file in files {
                guard let data = FileManager.default.contents(atPath: file) else {
                    FuzzCommand.sayError("secmod-fuzz: cannot read \(file)")
                    return 1
                }
                FuzzCommand.sayError("Running: \(file)")
                target.run(Array(data))
                count += 1
            }
        }
        if count == 0 {
            FuzzCommand.sayError("""
                secmod-fuzz: this binary was built without -sanitize=fuzzer, so it only replays inputs; \
                name files or directories (contrib/fuzz.sh builds the fuzzer)
                """)
            return 2
        }
        FuzzCommand.sayError("secmod-fuzz: \(target.rawValue): \(count) input(s) replayed without a crash")
        return 0
    }

    /// A file, or the regular files of a directory (not its subdirectories, not dot files).
    static func inputFiles(_ path: String) -> [String]? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return nil }
        guard isDirectory.boolValue else { return [path] }
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: path) else { return nil }
        return names.filter { !$0.hasPrefix(".") }.sorted().map { path + "/" + $0 }.filter {
            var sub: ObjCBool = false
            return FileManager.default.fileExists(atPath: $0, isDirectory: &sub) && !sub.boolValue
        }
    }
}
