import SecmodBase
import SecmodSystem

/// Dispatches `secmod-bench <benchmark> [options]`. Exit status 0 on success, 1 when a
/// measurement fails, 2 for bad arguments.
enum BenchMain {
    static func main(arguments: [String]) -> Int32 {
        let report = Report()
        guard let name = arguments.first, !name.hasPrefix("-") else {
            report.error(usageText())
            return arguments.contains("--help") || arguments.contains("-h") ? 0 : 2
        }
        guard let benchmark = Benchmarks.named(name) else {
            report.error("secmod-bench: unknown benchmark '\(name)'\n\(usageText())")
            return 2
        }
        let options: BenchOptions
        do throws(SecmodError) { options = try BenchOptions(arguments: Array(arguments.dropFirst())) } catch {
            report.error("secmod-bench: \(error)\n\(usageText())")
            return 2
        }
        let idle = ProcFS.idlePercent(overSeconds: 0.5)
        report.figure("machine.idle.before", idle, decimals: 0)
        if idle < 90 { report.note("warning: the machine was only \(Report.format(idle, decimals: 0))% idle before the run; other load distorts the figures") }
        do throws(SecmodError) {
            try benchmark.init(options: options).run(report: report)
            return 0
        } catch {
            report.error("secmod-bench \(name): \(error)")
            return 1
        }
    }

    static func usageText() -> String {
        let list = Benchmarks.all.map { "  \($0.name)\(String(repeating: " ", count: max(1, 9 - $0.name.count)))\($0.summary)" }
        return BenchOptions.usage + "\n\nBenchmarks:\n" + list.joined(separator: "\n")
    }
}
