import Foundation
import SecmodFuzzTargets
import Testing

/// The fuzz targets on every saved crasher (Tests/FuzzCrashers/<target>/) and every seed
/// (Tests/FuzzCorpus/<target>/), so that a bug the fuzzer once found stays fixed and the
/// targets' own checks hold on valid input. Each input runs in a child process: a target
/// reports a broken promise by crashing, and the crash should fail the test for that file,
/// not end the whole run.
@Suite struct FuzzCrasherTests {
    struct Input: Sendable, CustomTestStringConvertible {
        let target: FuzzTarget
        /// Relative to Tests/.
        let path: String
        var testDescription: String { path }
    }

    static let testsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().path

    static let crashers = inputs(in: "FuzzCrashers")
    static let seeds = inputs(in: "FuzzCorpus")

    /// The regular files of `<directory>/<target>/` for every target, dot files excepted.
    static func inputs(in directory: String) -> [Input] {
        FuzzTarget.allCases.flatMap { target in
            let folder = "\(directory)/\(target.rawValue)"
            let names = (try? FileManager.default.contentsOfDirectory(atPath: testsDirectory + "/" + folder)) ?? []
            return names.filter { !$0.hasPrefix(".") }.sorted().map { Input(target: target, path: folder + "/" + $0) }
        }
    }

    @Test(arguments: crashers) func savedCrasher(_ input: Input) async throws {
        try await feed(input)
    }

    @Test(arguments: seeds) func seed(_ input: Input) async throws {
        try await feed(input)
    }

    @Test(arguments: FuzzTarget.allCases) func everyTargetHasSeeds(_ target: FuzzTarget) {
        #expect(Self.seeds.contains { $0.target == target }, "Tests/FuzzCorpus/\(target.rawValue)/ has no seeds")
    }

    private func feed(_ input: Input) async throws {
        let bytes = try #require(FileManager.default.contents(atPath: Self.testsDirectory + "/" + input.path)).map { $0 }
        let name = input.target.rawValue
        let passed = await #expect(processExitsWith: .success) { [name = name as String, bytes = bytes as [UInt8]] in
            FuzzTarget(rawValue: name)!.run(bytes)
        }
        guard passed == nil else { return }
        // Once more, to put what the target said into the failure.
        let failure = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            [name = name as String, bytes = bytes as [UInt8]] in
            FuzzTarget(rawValue: name)!.run(bytes)
        }
        if let failure {
            let output = String(decoding: failure.standardErrorContent, as: UTF8.self)
            let lines = output.split(separator: "\n").filter { $0.contains("Fatal error") || $0.contains("ERROR") }
            Issue.record("\(input.path): \(lines.isEmpty ? String(output.suffix(2000)) : lines.joined(separator: "\n"))")
        }
    }
}
