/// Records how much other processes ran during each measurement window.
///
/// The bench shares two vCPUs with whatever else runs (a colleague's build, a test run);
/// that load lowers some figures and not others, and silently. Every window's foreign load
/// is checked, the worst is printed as `machine.foreign.max`, and each bad window is named.
final class Interference {
    /// Windows with more foreign load than this get a warning line.
    static let warningPercent = 3.0
    private(set) var worst = 0.0
    let report: Report

    init(report: Report) { self.report = report }

    func record(_ sampler: CostSampler, window: String) {
        guard let percent = sampler.foreignPercent() else { return }
        worst = max(worst, percent)
        if percent > Self.warningPercent {
            report.note("warning: other processes used \(Report.format(percent, decimals: 0))% of the CPUs during \(window); its figures are distorted")
        }
    }

    func finish() {
        report.figure("machine.foreign.max", worst)
    }
}
