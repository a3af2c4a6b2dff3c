import Foundation
import SecmodClient
import SecmodSystem
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Descriptors never run out before the session cap: under a low RLIMIT_NOFILE the helper
/// serves fewer sessions (and says so), evicts the idlest for a newcomer, and does not spin.
@Suite(.serialized) struct DescriptorLimitTests {
    static let prlimit = "/usr/bin/prlimit"

    /// User plus system CPU seconds of a process so far.
    private func cpuSeconds(_ pid: Int32) throws -> Double {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        let fields = stat[stat.lastIndex(of: ")")!...].split(separator: " ")
        return (Double(fields[12])! + Double(fields[13])!) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: prlimit), "needs prlimit(1)"),
          arguments: [HelperTransport.datagram, .stream])
    func moreClientsThanDescriptorsAreStillServed(transport: HelperTransport) throws {
        let helper = try HelperProcess(transport: transport)
        try helper.start(wrapper: [Self.prlimit, "--nofile=160:160", "--"])
        #expect(helper.waitForLog("serving at most"), "\(helper.log)")
        // Far more clients than descriptors, all holding their sessions.
        var held: [EddsaHelperClient] = []
        for _ in 0..<300 { held.append(try helper.client()) }
        let before = try cpuSeconds(helper.pid)
        // The newest are served; the idlest were closed to make room.
        for client in held.suffix(5) { _ = try client.sign(purpose: 1, body: [2], timeout: .seconds(10)) }
        _ = try helper.client().sign(purpose: 1, body: [3], timeout: .seconds(10))
        #expect(helper.log.contains("closing the longest idle session"))
        // Idle with every descriptor it may use in use: no busy loop.
        Thread.sleep(forTimeInterval: 2)
        let used = try cpuSeconds(helper.pid) - before
        #expect(used < 1.0, "the helper used \(used) s of CPU in 2 s at its descriptor limit")
        #expect(helper.isRunning)
        held.removeAll()
        #expect(helper.stop() == 0)
    }
}
