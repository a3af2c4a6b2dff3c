import Foundation
import SecmodBase
import SecmodSystem

/// A scratch directory for configuration tests, removed when the value goes away.
final class ConfigScratchDirectory {
    let path: String

    init() throws {
        let base = FileManager.default.temporaryDirectory.path
        path = (base.hasSuffix("/") ? base : base + "/") + "secmod-config-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Writes `text` to `name` (creating subdirectories) and returns the absolute path.
    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let file = path + "/" + name
        let directory = (file as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: file))
        return file
    }

    func writeBytes(_ name: String, _ bytes: [UInt8]) throws -> String {
        let file = path + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        return file
    }
}

/// Runs `body` and returns the `SecmodError` it threw, or nil if it did not throw.
func configError(_ body: () throws(SecmodError) -> Void) -> SecmodError? {
    do throws(SecmodError) {
        try body()
        return nil
    } catch {
        return error
    }
}

/// The current directory, as `filename` resolves relative paths against it.
func configTestCurrentDirectory() -> String {
    FileManager.default.currentDirectoryPath
}
