internal import CFuzzDriver
import Foundation
import Synchronization
import SecmodFuzzTargets

/// The call into libFuzzer: the only raw pointers of secmod-fuzz.
enum LibFuzzer {
    static var isLinked: Bool { secmod_fuzz_driver_linked() != 0 }

    /// The target the C callback feeds. libFuzzer takes a plain C function, which cannot
    /// capture a value, so the choice is made here once, before the driver starts.
    private static let selected = Mutex<FuzzTarget?>(nil)

    static func run(_ target: FuzzTarget, program: String, arguments: [String]) -> Int32 {
        selected.withLock { $0 = target }
        // libFuzzer keeps argv for its whole run and may hand it to child processes, so the
        // strings are never freed.
        let strings = ([program] + arguments).map { strdup($0) }
        let vector = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: strings.count + 1)
        for (i, s) in strings.enumerated() { vector[i] = s }
        vector[strings.count] = nil
        var argc = Int32(strings.count)
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = vector
        return secmod_fuzz_run_driver(&argc, &argv) { data, size in
            let input = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
            LibFuzzer.selected.withLock { $0 }?.run(input)
            return 0
        }
    }
}
