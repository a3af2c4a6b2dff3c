/// Exact percentiles of recorded latencies: every request's time is kept and sorted, so
/// p99 is a real observed value, not a histogram bucket's estimate.
struct LatencySummary: Sendable {
    /// Nanoseconds, ascending.
    let sorted: [UInt64]

    init(_ samples: [UInt64]) { sorted = samples.sorted() }

    var count: Int { sorted.count }

    /// Nearest-rank percentile in microseconds: the smallest sample with at least `p` percent
    /// of all samples at or below it. 0 when nothing was recorded.
    func percentileMicroseconds(_ p: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        var rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        rank = min(max(rank, 1), sorted.count)
        return Double(sorted[rank - 1]) / 1000
    }

    var meanMicroseconds: Double {
        guard !sorted.isEmpty else { return 0 }
        return Double(sorted.reduce(0, &+)) / Double(sorted.count) / 1000
    }
}
