import SecmodBase
import SecmodClient
import SecmodSystem

/// The options every benchmark shares. Hand-rolled so the bench needs no dependency beyond
/// the package's own libraries.
struct BenchOptions: Sendable, Equatable {
    /// Measurement window per helper configuration; in-process rates use two thirds of it.
    var seconds = 3.0
    /// Load applied before each window, so that threads, sessions and caches are warm.
    var warmupSeconds = 0.5
    /// Passed to the helper as `-w N`; nil leaves the helper's default (one per CPU).
    var helperWorkers: Int?
    /// The helper's SOCKET_TYPE and the clients' transport.
    var transport = HelperTransport.datagram
    /// Concurrent client threads, one configuration each.
    var clientCounts = [1, 2, 8]
    /// Which clients drive the helper: the client library (signature check off: the helper's
    /// figures), the library with its check on, or the diagnostic raw client.
    var clientKinds = ["library", "verifying"]
    /// RSA key sizes in bits, one set of figures each (`rsa` only).
    var rsaSizes = [2048, 3072, 4096]

    /// In-process signing window: long enough for a stable rate, shorter than a helper run.
    var inProcessSeconds: Double { max(0.2, seconds * 2 / 3) }

    static let usage = """
        Usage: secmod-bench <benchmark> [--seconds S] [--warmup S] [--workers N] [--clients LIST] [--client-kind KIND] [--sizes LIST]

          --seconds S      measurement window per helper configuration (default 3; in-process 2/3 of it)
          --warmup S       load before each window (default 0.5)
          --transport T    dgram (default) or stream (SOCKET_TYPE = stream, as Taler's clients)
          --workers N      helper signing threads, passed as -w N (default: the helper's, one per CPU)
          --clients LIST   comma-separated client thread counts (default 1,2,8; eddsa)
          --client-kind K  library (client check off), verifying (check on), raw (diagnostic), or all;
                           default: library and verifying (eddsa)
          --sizes LIST     comma-separated RSA key sizes in bits (default 2048,3072,4096; rsa)

        Every result is printed as a line `FIGURE <name> <value>`.
        """

    init() {}

    init(arguments: [String]) throws(SecmodError) {
        var i = 0
        func value(_ name: String) throws(SecmodError) -> String {
            i += 1
            guard i < arguments.count else { throw SecmodError(.usage, "option \(name) needs a value") }
            return arguments[i]
        }
        func duration(_ name: String, minimum: Double) throws(SecmodError) -> Double {
            let text = try value(name)
            guard let v = Double(text), v >= minimum, v <= 3600 else {
                throw SecmodError(.usage, "\(name) needs a number of seconds from \(minimum) to 3600, not '\(text)'")
            }
            return v
        }
        while i < arguments.count {
            let arg = arguments[i]
            switch arg {
            case "--seconds": seconds = try duration(arg, minimum: 0.1)
            case "--warmup": warmupSeconds = try duration(arg, minimum: 0)
            case "--transport":
                let text = try value(arg)
                guard let t = HelperTransport(rawValue: text) else {
                    throw SecmodError(.usage, "--transport needs dgram or stream, not '\(text)'")
                }
                transport = t
            case "--workers":
                let text = try value(arg)
                guard let n = Int(text), n >= 0, n <= 1024 else {
                    throw SecmodError(.usage, "--workers needs a count from 0 (one per CPU) to 1024, not '\(text)'")
                }
                helperWorkers = n
            case "--clients":
                let text = try value(arg)
                let counts = text.split(separator: ",").map { Int($0) }
                guard !counts.isEmpty, counts.allSatisfy({ $0 != nil && $0! >= 1 && $0! <= 256 }) else {
                    throw SecmodError(.usage, "--clients needs a list such as 1,2,8 (each 1 to 256), not '\(text)'")
                }
                clientCounts = counts.map { $0! }
            case "--client-kind":
                let text = try value(arg)
                switch text {
                case "library", "verifying", "raw": clientKinds = [text]
                case "all": clientKinds = ["library", "verifying", "raw"]
                default: throw SecmodError(.usage, "--client-kind needs library, verifying, raw or all, not '\(text)'")
                }
            case "--sizes":
                let text = try value(arg)
                let sizes = text.split(separator: ",").map { Int($0) }
                guard !sizes.isEmpty, sizes.allSatisfy({ $0 != nil && $0! >= 1024 && $0! <= 8192 && $0! % 8 == 0 }) else {
                    throw SecmodError(.usage, "--sizes needs a list such as 2048,4096 (multiples of 8 from 1024 to 8192), not '\(text)'")
                }
                rsaSizes = []
                for size in sizes.map({ $0! }) where !rsaSizes.contains(size) { rsaSizes.append(size) }
            default:
                throw SecmodError(.usage, "unknown option '\(arg)'")
            }
            i += 1
        }
    }
}
