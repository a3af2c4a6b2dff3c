import Foundation
import SecmodClient
import SecmodSystem
import Testing

/// A lone client's EdDSA requests are signed on the event loop while no worker is busy: no
/// worker wakes for them (the wake-up cost more than the signature). Reservations of the
/// audit counter, which write and fsync, still go to a worker, and so do large purposes.
/// The loop's short spin after such a request ends: an idle helper uses no CPU.
@Suite struct LoneClientTests {
    /// Context switches of the helper's worker threads (named `worker-<i>`), and how many
    /// workers were found.
    private func workerSwitches(_ pid: Int32) -> (switches: Int, workers: Int)? {
        guard let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task") else { return nil }
        var total = 0, workers = 0
        for tid in tasks {
            let base = "/proc/\(pid)/task/\(tid)"
            guard let name = try? String(contentsOfFile: base + "/comm", encoding: .utf8), name.hasPrefix("worker-"),
                  let status = try? String(contentsOfFile: base + "/status", encoding: .utf8) else { continue }
            workers += 1
            for line in status.split(separator: "\n") where line.hasPrefix("voluntary_ctxt_switches:") || line.hasPrefix("nonvoluntary_ctxt_switches:") {
                total += Int(line.split(separator: "\t").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "") ?? 0
            }
        }
        return (total, workers)
    }

    @Test(.enabled(if: geteuid() == 0, "reads a non-dumpable helper's /proc/<pid>/task"))
    func aLoneClientIsSignedWithoutWakingAWorker() throws {
        let helper = try HelperProcess(config: "WORKERS = 2\nAUDIT_BLOCK = 100")
        try helper.start()
        let client = try helper.client()
        _ = try client.sign(purposeBytes: [0, 0, 0, 8, 0, 0, 0, 0])
        let before = try #require(workerSwitches(helper.pid))
        #expect(before.workers == 2, "found \(before.workers) worker threads, not WORKERS = 2")
        for _ in 0..<1000 { _ = try client.sign(purposeBytes: [0, 0, 0, 8, 0, 0, 0, 0]) }
        let woken = try #require(workerSwitches(helper.pid)).switches - before.switches
        // 1,000 signatures cross ten reservations of 100: those (and little else) wake a worker.
        #expect(woken < 100, "the workers switched \(woken) times for 1,000 sequential signatures")
        // A large purpose takes longer to sign than the loop may be held up: a worker signs it.
        let large = [0, 0, 16, 0, 0, 0, 0, 0] + [UInt8](repeating: 7, count: 4096 - 8)
        let beforeLarge = try #require(workerSwitches(helper.pid)).switches
        for _ in 0..<200 { _ = try client.sign(purposeBytes: large) }
        let wokenForLarge = try #require(workerSwitches(helper.pid)).switches - beforeLarge
        #expect(wokenForLarge >= 200, "the workers switched only \(wokenForLarge) times for 200 requests of 4 KiB")
        // After a lone request the loop looks for the next one for 50 µs before it sleeps:
        // once the client is quiet, the helper uses no CPU.
        let idleFrom = try cpuSeconds(helper.pid)
        let watched = Date()
        while Date().timeIntervalSince(watched) < 2 { usleep(100_000) }
        let idleCPU = try cpuSeconds(helper.pid) - idleFrom
        #expect(idleCPU < 0.2, "the helper used \(idleCPU) s of CPU in 2 s without requests")
        #expect(helper.stop() == 0)
    }

    private func cpuSeconds(_ pid: Int32) throws -> Double {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        let fields = stat[stat.lastIndex(of: ")")!...].split(separator: " ")
        return (Double(fields[12])! + Double(fields[13])!) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
