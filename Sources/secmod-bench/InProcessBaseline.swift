import SecmodBase
import SecmodCrypto
import SecmodSystem

/// The 2-thread in-process signing rate that every helper rate is divided by, sampled in
/// short slices spread across the whole run.
///
/// This virtual machine's speed drifts by tens of percent from one minute to the next
/// (measured: 48k to 82k signatures/s on two threads within two minutes). A baseline taken
/// once at the start would make the ratio depend on when the drift happened; slices taken
/// between the helper windows average over the same span of time as the helper figures.
final class InProcessBaseline {
    private let key: Ed25519PrivateKey
    private let threads: Int
    private(set) var slices: [LoadResult] = []

    init(key: Ed25519PrivateKey, threads: Int) {
        self.key = key
        self.threads = threads
    }

    /// Signs on `threads` threads for `seconds` after a short warm-up.
    func sample(seconds: Double, interference: Interference) throws(SecmodError) {
        let sampler = CostSampler(helperPID: nil)
        slices.append(try LoadRunner.run(threads: threads, warmupSeconds: 0.1, seconds: seconds, recordLatency: false,
                                         name: "inproc", observer: sampler,
                                         makeOperation: EddsaWorkloads.inProcessSigning(key: key)))
        interference.record(sampler, window: "in-process slice \(slices.count)")
    }

    /// All slices together: total signatures over total measured time.
    var rate: Double {
        let seconds = slices.reduce(0) { $0 + $1.seconds }
        return seconds > 0 ? Double(slices.reduce(0) { $0 + $1.operations }) / seconds : 0
    }

    /// The slowest and fastest slice, to show how much the machine drifted.
    var spread: (low: Double, high: Double) {
        (slices.map(\.rate).min() ?? 0, slices.map(\.rate).max() ?? 0)
    }
}
