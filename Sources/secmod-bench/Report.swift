import SecmodSystem

/// Where results go: `FIGURE <name> <value>` lines that scripts grep, and free-form context
/// lines that never start with FIGURE.
///
/// Writes through `LogSink` (write(2)): Swift 6 rejects the C `stdout` global as not
/// concurrency-safe, and an unbuffered line survives a benchmark that dies half-way.
struct Report: Sendable {
    /// A machine-readable result. `decimals` is 0 or 1 for rates and times, 2 for ratios.
    func figure(_ name: String, _ value: Double, decimals: Int = 1) {
        LogSink.standardOutput.write(Array("FIGURE \(name) \(Self.format(value, decimals: decimals))\n".utf8))
    }

    /// Human-readable context.
    func note(_ text: String) { LogSink.standardOutput.write(Array((text + "\n").utf8)) }

    func error(_ text: String) { LogSink.standardError.write(Array((text + "\n").utf8)) }

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
}
