#if canImport(Glibc)
import Glibc
#endif

/// Where results go: `FIGURE <name> <value>` lines that scripts grep, and free-form context
/// lines that never start with FIGURE.
///
/// Writes with write(2): Swift 6 rejects the C `stdout` global as not concurrency-safe, and an
/// unbuffered line survives a benchmark that dies half-way.
struct Report: Sendable {
    /// A machine-readable result. `decimals` is 0 or 1 for rates and times, 2 for ratios.
    func figure(_ name: String, _ value: Double, decimals: Int = 1) {
        write(1, "FIGURE \(name) \(Self.format(value, decimals: decimals))\n")
    }

    /// Human-readable context.
    func note(_ text: String) { write(1, text + "\n") }

    func error(_ text: String) { write(2, text + "\n") }

    /// Fixed-point formatting without Foundation: `String(format:)` would pull it in.
    static func format(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return "0" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = Int64((abs(value) * scale).rounded())
        let sign = value < 0 && scaled != 0 ? "-" : ""
        if decimals == 0 { return sign + String(scaled) }
        let whole = scaled / Int64(scale)
        var fraction = String(scaled % Int64(scale))
        while fraction.count < decimals { fraction = "0" + fraction }
        return "\(sign)\(whole).\(fraction)"
    }

    private func write(_ descriptor: Int32, _ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
            if n <= 0 { return }
            offset += n
        }
    }
}
