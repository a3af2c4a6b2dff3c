import Logging
import SecmodSystem

/// At most one log line per second per reason, with a count of what was suppressed, so that
/// a client spraying garbage cannot flood the log or slow the loop.
package struct RateLimitedLog {
    private var lastLine: [String: UInt64] = [:]
    private var suppressed: [String: Int] = [:]

    package init() {}

    package mutating func warning(_ logger: Logger, reason: String, _ detail: @autoclosure () -> String) {
        let now = Clock.monotonicMicroseconds()
        if let last = lastLine[reason], now - last < 1_000_000 {
            suppressed[reason, default: 0] += 1
            return
        }
        let count = suppressed.removeValue(forKey: reason) ?? 0
        lastLine[reason] = now
        let tail = count > 0 ? " (\(count) more suppressed)" : ""
        logger.warning("\(reason): \(detail())\(tail)")
    }
}
