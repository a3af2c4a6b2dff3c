import SecmodBase
import SecmodSystem

/// One key family's benchmark, selected by the first command-line argument.
///
/// A protocol rather than a switch so that `rsa` (and later `cs`) can be added as one new
/// file plus one line in `all`, sharing the option parser, the load runner and the report.
protocol Benchmark {
    /// The subcommand, e.g. `eddsa`.
    static var name: String { get }
    /// One line for the usage text.
    static var summary: String { get }
    init(options: BenchOptions)
    /// Runs every measurement and prints its figures to `report`.
    func run(report: Report) throws(SecmodError)
}

enum Benchmarks {
    /// Every benchmark the command knows, in usage order.
    static var all: [any Benchmark.Type] { [EddsaBenchmark.self, RsaBenchmark.self, CsBenchmark.self, HostileBenchmark.self, MemoryBenchmark.self, InstructionBenchmark.self, Pkcs11Benchmark.self, AgentBenchmark.self] }

    static func named(_ name: String) -> (any Benchmark.Type)? {
        all.first { $0.name == name }
    }
}
