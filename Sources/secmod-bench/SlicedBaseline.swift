import SecmodBase
import SecmodSystem

/// An in-process rate that helper rates are divided by, sampled in short slices between
/// the helper windows so that it averages over the same stretch of the machine's drift
/// (see `InProcessBaseline`, which does the same for Ed25519 with its key built in).
/// Any operation: the RSA benchmark passes `RsaWorkloads.inProcessSigning`.
final class SlicedBaseline {
    private let threads: Int
    private let name: String
    private let helperPID: Int32?
    private let makeOperation: @Sendable (Int) throws(SecmodError) -> Operation
    private(set) var slices: [LoadResult] = []

    /// `helperPID`, if given, keeps an idle helper's housekeeping out of the foreign load.
    init(threads: Int, name: String, helperPID: Int32?, makeOperation: @escaping @Sendable (Int) throws(SecmodError) -> Operation) {
        self.threads = threads
        self.name = name
        self.helperPID = helperPID
        self.makeOperation = makeOperation
    }

    /// Runs the operation on `threads` threads for `seconds` after a short warm-up.
    func sample(seconds: Double, interference: Interference) throws(SecmodError) {
        let sampler = CostSampler(helperPID: helperPID)
        slices.append(try LoadRunner.run(threads: threads, warmupSeconds: 0.1, seconds: seconds, recordLatency: false,
                                         name: "inproc", observer: sampler, makeOperation: makeOperation))
        interference.record(sampler, window: "\(name) slice \(slices.count)")
    }

    /// All slices together: total operations over total measured time.
    var rate: Double {
        let seconds = slices.reduce(0) { $0 + $1.seconds }
        return seconds > 0 ? Double(slices.reduce(0) { $0 + $1.operations }) / seconds : 0
    }

    /// The slowest and fastest slice, to show how much the machine drifted.
    var spread: (low: Double, high: Double) {
        (slices.map(\.rate).min() ?? 0, slices.map(\.rate).max() ?? 0)
    }
}
