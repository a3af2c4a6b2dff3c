import Foundation
import SecmodBase
import SecmodOffline
import SecmodSystem
import SecmodWire
#if canImport(Glibc)
import Glibc
#endif

/// Input, output and the review table of the offline commands.
enum OfflineIO {
    /// Documents larger than this are refused (thousands of keys fit in a few MiB).
    static let maximumInputSize = 64 << 20

    /// The bytes of FILE, or of standard input for nil or "-". An interactive terminal on
    /// standard input is refused rather than waited on.
    static func readInput(_ path: String?) throws(SecmodError) -> [UInt8] {
        guard let path, path != "-" else {
            guard !isTerminal(0) else {
                throw SecmodError(.usage, "no input: give the FILE that `secmod download` wrote, or pipe it into standard input")
            }
            let data = FileHandle.standardInput.readDataToEndOfFile()
            guard data.count <= maximumInputSize else { throw SecmodError(.usage, "standard input has more than \(maximumInputSize >> 20) MiB") }
            guard !data.isEmpty else { throw SecmodError(.malformed, "standard input is empty; expected the JSON document") }
            return [UInt8](data)
        }
        enum Outcome { case bytes([UInt8]), notRegular, tooLarge }
        func load() throws(Errno) -> Outcome {
            let fd = try FileDescriptor.open(path, O_RDONLY)
            let st = try fd.status()
            guard st.isRegularFile else { return .notRegular }
            var bytes: [UInt8] = []
            while true {
                let chunk = try fd.read(upTo: 1 << 16)
                if chunk.isEmpty { return .bytes(bytes) }
                bytes += chunk
                if bytes.count > maximumInputSize { return .tooLarge }
            }
        }
        let outcome: Outcome
        do throws(Errno) { outcome = try load() } catch { throw error.error("reading \(path)", code: .usage) }
        switch outcome {
        case .notRegular: throw SecmodError(.usage, "\(path) is not a regular file")
        case .tooLarge: throw SecmodError(.usage, "\(path) has more than \(maximumInputSize >> 20) MiB")
        case .bytes(let bytes):
            guard !bytes.isEmpty else { throw SecmodError(.malformed, "\(path) is empty; expected the JSON document") }
            return bytes
        }
    }

    /// Writes `text` to standard output, or replaces FILE atomically (mode 0644).
    static func write(_ text: String, to path: String?) throws(SecmodError) {
        let bytes = Array(text.utf8)
        guard let path, path != "-" else { try writeStandardOutput(bytes); return }
        let (directory, name) = offlineSplitPath(path)
        try offlineWithBytes(bytes) { (raw) throws(SecmodError) in
            try FileSystem.writeAtomically(directory: directory, name: name, mode: 0o644, existing: .replace, contents: raw)
        }
    }

    static func writeStandardOutput(_ bytes: [UInt8]) throws(SecmodError) {
        let out = FileDescriptor(adopting: dup(1))
        do throws(Errno) { try out.writeAll(bytes) } catch { throw error.error("writing to standard output") }
    }

    /// A line for the operator, on standard error.
    static func note(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }
}


/// The review table of `show`.
enum OfflineTable {
    static func render(_ review: KeyReview) -> [String] {
        var lines: [String] = []
        let dateWidth = 21
        if review.denominations.isEmpty {
            lines.append("no denomination keys")
        } else {
            let sectionWidth = max(8, review.denominations.map(\.key.sectionName.count).max() ?? 0) + 2
            let valueWidth = max(6, review.denominations.map { $0.key.value.description.count }.max() ?? 0) + 2
            let feeTexts = review.denominations.map { d in d.key.fees.all.map { fraction($0.amount) }.joined(separator: "/") }
            let feeWidth = max(21, feeTexts.map(\.count).max() ?? 0) + 2
            lines.append(pad("SECTION", sectionWidth) + pad("VALUE", valueWidth) + pad("FEES W/D/RF/RD", feeWidth)
                         + pad("START (UTC)", dateWidth) + pad("WITHDRAW UNTIL", dateWidth) + pad("DEPOSIT UNTIL", dateWidth)
                         + pad("LEGAL UNTIL", dateWidth) + pad("AGE MASK", 10) + pad("H_DENOM_PUB", 14) + "MODULE SIG")
            for (d, fees) in zip(review.denominations, feeTexts) {
                let k = d.key
                lines.append(pad(k.sectionName, sectionWidth) + pad(k.value.description, valueWidth) + pad(fees, feeWidth)
                             + pad(OfflineFormat.date(k.stampStart), dateWidth) + pad(OfflineFormat.date(k.stampExpireWithdraw), dateWidth)
                             + pad(OfflineFormat.date(k.stampExpireDeposit), dateWidth) + pad(OfflineFormat.date(k.stampExpireLegal), dateWidth)
                             + pad(OfflineFormat.hex(d.ageMask), 10)
                             + pad(String(CrockfordBase32.encode(d.denominationHash).prefix(12)), 14)
                             + (d.moduleSignatureValid ? "valid" : "INVALID"))
            }
        }
        lines.append("")
        if review.signingKeys.isEmpty {
            lines.append("no signing keys")
        } else {
            lines.append(pad("SIGNING KEY", 54) + pad("START (UTC)", dateWidth) + pad("SIGN UNTIL", dateWidth)
                         + pad("LEGAL UNTIL", dateWidth) + "MODULE SIG")
            for s in review.signingKeys {
                let k = s.key
                lines.append(pad(CrockfordBase32.encode(k.key), 54) + pad(OfflineFormat.date(k.stampStart), dateWidth)
                             + pad(OfflineFormat.date(k.stampExpire), dateWidth) + pad(OfflineFormat.date(k.stampEnd), dateWidth)
                             + (s.moduleSignatureValid ? "valid" : "INVALID"))
            }
        }
        return lines
    }

    /// An amount without its currency, for the fee column.
    private static func fraction(_ a: Amount) -> String {
        let text = a.description
        guard let colon = text.firstIndex(of: ":") else { return text }
        return String(text[text.index(after: colon)...])
    }

    private static func pad(_ s: String, _ width: Int) -> String {
        s + String(repeating: " ", count: max(1, width - s.count))
    }
}
