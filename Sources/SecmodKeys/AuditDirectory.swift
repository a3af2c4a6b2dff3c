import SecmodBase
import SecmodSystem

/// `AUDIT_DIR`: one `AuditRecord` file per key that ever signed. The helper never deletes
/// one; counts outlive their keys until an operator archives them (moves the files away).
public struct AuditDirectory: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    /// A counter file is at most a few hundred bytes; anything larger is not ours.
    static let maximumFileSize = 4096

    public func read(key: String) throws(SecmodError) -> AuditRecord? {
        let file = path + "/" + AuditRecord.fileName(key: key)
        guard FileSystem.exists(file) else { return nil }
        return try read(file: file)
    }

    public func read(file: String) throws(SecmodError) -> AuditRecord {
        var buffer = [UInt8](repeating: 0, count: Self.maximumFileSize)
        let n = try buffer.withUnsafeMutableBytes { b in
            Result { () throws(SecmodError) in try FileSystem.readRegularFile(file, maximumSize: Self.maximumFileSize, into: b) }
        }.get()
        return try AuditRecord.parse(String(decoding: buffer[0..<n], as: UTF8.self), file: file)
    }

    /// Durable before it returns (temp file, fsync, rename, fsync of the directory): the
    /// caller signs against the count only afterwards.
    public func write(_ record: AuditRecord) throws(SecmodError) {
        try FileSystem.createDirectories(path, mode: 0o700)
        let bytes = Array(record.encode().utf8)
        try bytes.withUnsafeBytes { b in
            Result { () throws(SecmodError) in
                try FileSystem.writeAtomically(directory: path, name: AuditRecord.fileName(key: record.key), mode: 0o600,
                                               existing: .replace, contents: b)
            }
        }.get()
    }

    /// Every record, sorted by section and anchor; files that do not parse are reported, not
    /// skipped silently.
    public func readAll() throws(SecmodError) -> (records: [AuditRecord], problems: [String]) {
        let names: [String]
        do throws(Errno) { names = try FileSystem.listDirectory(path) } catch {
            if error == .noEntry { return ([], []) }
            throw error.error("listing audit directory \(path)")
        }
        var records: [AuditRecord] = [], problems: [String] = []
        for name in names where name.hasSuffix(".count") && !name.hasPrefix(".") {
            do throws(SecmodError) { records.append(try read(file: path + "/" + name)) } catch {
                problems.append("\(error)")
            }
        }
        records.sort { ($0.section, $0.anchorSeconds, $0.key) < ($1.section, $1.anchorSeconds, $1.key) }
        return (records, problems)
    }
}
