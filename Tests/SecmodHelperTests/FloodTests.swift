import Foundation
import SecmodClient
import SecmodSystem
import SecmodWire
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A hostile exchange floods one session (pipelined, never reading) while a good client
/// signs, on both helpers and both transports. Before the work was bounded, an EdDSA flood
/// took another client's p99 to 4.1 s and the helper's RSS from 26 to 527 MB; an RSA flood
/// left other clients unanswered for the 70 s watched and SIGTERM took 94 s.
///
/// The promises checked here, as the README states them:
/// - the good client's p99 stays under 500 ms (the benchmark measures about 4 ms on two
///   CPUs; the margin is for sanitizers and a loaded machine);
/// - the helper's peak RSS grows by less than 48 MiB (skipped under a sanitizer, whose
///   allocator quarantines freed memory);
/// - SIGTERM during the flood exits 0 within SHUTDOWN_TIMEOUT (2 s here) and a second.
@Suite(.serialized) struct FloodTests {
    enum Family: String, CaseIterable, Sendable { case eddsa, rsa }

    static let latencyBound = 0.5
    static let residentGrowthBoundKiB = 48 * 1024
    static let shutdownTimeout = 4.0

    @Test(arguments: Family.allCases, HelperTransport.allCases)
    func aFloodingSessionLeavesOthersServed(family: Family, transport: HelperTransport) throws {
        let helper = try HelperProcess(family == .eddsa ? .eddsa : .rsa(denominations: [("coin_f", "1 minute", 2048)]),
                                       transport: transport,
                                       config: "WORKERS = 2\nSHUTDOWN_TIMEOUT = \(Int(Self.shutdownTimeout)) s\nSESSION_BLOCKED_TIMEOUT = 120 s")
        try helper.start()
        let (goodSign, floodRequest, floodAhead) = try family == .eddsa ? eddsaWork(helper) : rsaWork(helper)
        try goodSign()
        let baseline = try ProcStatus(pid: helper.pid).kibibytes("VmRSS")

        let flood = try FloodSession(helper, family: family)
        let sent = SentCount()
        let sender = try OSThread.start(name: "flood") {
            // Blocks while the helper does not read; ends when the helper is gone.
            while (try? flood.send(floodRequest)) != nil { sent.value.add(1, ordering: .relaxed) }
        }
        // The flood is ahead of the good client once it has sent more than the helper holds
        // for one session (SESSION_MAX_INFLIGHT or SESSION_MAX_INFLIGHT_BYTES).
        let deadline = Date().addingTimeInterval(30)
        while sent.value.load(ordering: .relaxed) < floodAhead, Date() < deadline { try flood.waitUntilWritable(seconds: 1) }
        #expect(sent.value.load(ordering: .relaxed) >= floodAhead, "the flood did not get going")

        var latencies: [Double] = []
        for _ in 0..<100 {
            let start = Date()
            try goodSign()
            latencies.append(Date().timeIntervalSince(start))
        }
        latencies.sort()
        let p99 = latencies[98]
        #expect(p99 < Self.latencyBound, "\(family) \(transport): a good client's p99 was \(p99) s during a flood")
        let status = try ProcStatus(pid: helper.pid)
        if ProcessInfo.processInfo.environment["SECMOD_SANITIZER"] == nil {
            let growth = try status.kibibytes("VmHWM") - baseline
            #expect(growth < Self.residentGrowthBoundKiB, "\(family) \(transport): RSS grew by \(growth) KiB during a flood")
        }

        let start = Date()
        #expect(helper.stop() == 0)
        let took = Date().timeIntervalSince(start)
        #expect(took < Self.shutdownTimeout + 1, "\(family) \(transport): SIGTERM during a flood took \(took) s")
        sender.join()  // the helper is gone: the flood's next send fails
        print("flood \(family) \(transport): p50 \(latencies[49] * 1000) ms, p99 \(p99 * 1000) ms, peak RSS +\(try status.kibibytes("VmHWM") - baseline) KiB, stop \(took) s, \(sent.value.load(ordering: .relaxed)) flood requests")
    }

    /// Many flooding sessions: each stays within its own bound (1 MiB of requests), and
    /// MAX_INFLIGHT_BYTES bounds their sum. 16 sessions of 60 KB EdDSA requests grow the
    /// helper's peak RSS by some 17 MiB with a budget that does not bind (the control: over
    /// 10 MiB), and by some 3 MiB with a 2 MiB budget (under 8 MiB); a good client is
    /// served meanwhile.
    @Test(arguments: [2, 64])
    func theHelperWideBudgetBoundsManyFloods(budgetMiB: Int) throws {
        let helper = try HelperProcess(.eddsa, config: "WORKERS = 2\nMAX_INFLIGHT_BYTES = \(budgetMiB) MiB\nSESSION_BLOCKED_TIMEOUT = 120 s")
        try helper.start()
        let (goodSign, floodRequest, _) = try eddsaWork(helper)
        try goodSign()
        let baseline = try ProcStatus(pid: helper.pid).kibibytes("VmRSS")
        let sent = SentCount()
        var senders: [OSThread] = []
        for i in 0..<16 {
            let flood = try FloodSession(helper, family: .eddsa)
            senders.append(try OSThread.start(name: "flood\(i)") {
                while (try? flood.send(floodRequest)) != nil { sent.value.add(1, ordering: .relaxed) }
            })
        }
        // 16 sessions × 18 requests fill 16 MiB; wait for several times that.
        let deadline = Date().addingTimeInterval(30)
        while sent.value.load(ordering: .relaxed) < 16 * 18 * 4, Date() < deadline { usleep(10_000) }
        for _ in 0..<20 { try goodSign() }
        let growth = try ProcStatus(pid: helper.pid).kibibytes("VmHWM") - baseline
        print("16 floods, MAX_INFLIGHT_BYTES \(budgetMiB) MiB: peak RSS +\(growth) KiB, \(sent.value.load(ordering: .relaxed)) requests")
        if ProcessInfo.processInfo.environment["SECMOD_SANITIZER"] == nil {
            if budgetMiB == 2 {
                #expect(growth < 8 * 1024, "16 floods grew the helper's RSS by \(growth) KiB under a 2 MiB budget")
            } else {
                // The control: without a binding budget the sessions' own bounds add up.
                #expect(growth > 10 * 1024, "16 floods held only \(growth) KiB: the test did not load the helper")
            }
        }
        #expect(helper.stop() == 0)
        for sender in senders { sender.join() }
    }

    /// Idle stream connections hold no receive buffer (each held 64 KiB up front before):
    /// 600 of them grow the helper's RSS by less than 12 MiB (they held 37.5 MiB), and a
    /// client is served. Not more: the test process holds their descriptors, and
    /// Foundation's `Process.run` in a parallel test overflows its buffer reading
    /// /proc/self/fd when there are over a thousand (found by AddressSanitizer).
    @Test func idleStreamConnectionsHoldNoBuffers() throws {
        _ = try DescriptorLimit.raiseToHardLimit()
        let helper = try HelperProcess(.eddsa, transport: .stream)
        try helper.start()
        let good = try helper.client()
        _ = try good.sign(purpose: 1234, body: [1])
        let baseline = try ProcStatus(pid: helper.pid).kibibytes("VmRSS")
        var connections: [SocketHandle] = []
        for _ in 0..<600 {
            let s = try UnixSocket(.stream)
            try s.connect(to: UnixAddress(path: helper.socketPath))
            connections.append(SocketHandle(s))
        }
        // Each connection is accepted once its dump of keys arrives.
        for connection in connections {
            var polls = PollSet()
            polls.add(connection.socket.rawValue, .readable)
            #expect(try polls.wait(timeoutMilliseconds: 20_000) == 1, "a connection got no dump")
        }
        _ = try good.sign(purpose: 1234, body: [2])
        let growth = try ProcStatus(pid: helper.pid).kibibytes("VmRSS") - baseline
        print("600 idle stream connections: helper RSS +\(growth) KiB")
        if ProcessInfo.processInfo.environment["SECMOD_SANITIZER"] == nil {
            #expect(growth < 12 * 1024, "600 idle connections grew the helper's RSS by \(growth) KiB")
        }
        #expect(helper.stop() == 0)
    }

    /// The good client's one signature, the flood's request, and how many of them put the
    /// flood past what the helper reads of one session.
    private typealias Work = (sign: () throws -> Void, floodRequest: [UInt8], ahead: Int)

    private func eddsaWork(_ helper: HelperProcess) throws -> Work {
        let good = try helper.client()
        let large = EddsaSignRequest.purposeBytes(purpose: 1234, body: [UInt8](repeating: 7, count: 60_000))
        // 1 MiB of 60 KB requests is 18 of them; the session's socket buffer holds a few more.
        return ({ _ = try good.sign(purpose: 1234, body: [1, 2, 3]) }, EddsaSignRequest.encode(purposeBytes: large), 40)
    }

    private func rsaWork(_ helper: HelperProcess) throws -> Work {
        let good = try helper.rsaClient()
        let key = try #require(good.keys.first { $0.anchor.microseconds <= Clock.wallMicroseconds() })
        let batch = RsaBatchSignRequest.encode(Array(repeating: RsaSignRequest.encode(hash: key.hash, blindedMessage: [UInt8](repeating: 9, count: 100)),
                                                     count: 256))
        // Five batches are 1,280 signatures, past SESSION_MAX_INFLIGHT (1024).
        return ({ _ = try good.sign(hash: key.hash, blindedMessage: [4, 5, 6]) }, batch, 6)
    }
}

private final class SentCount: Sendable {
    let value = Atomic<Int>(0)
}

/// One session of the helper's transport that only sends, never reads.
private final class FloodSession: Sendable {
    private let handle: SocketHandle

    init(_ helper: HelperProcess, family: FloodTests.Family) throws {
        switch helper.transport {
        case .datagram:
            let raw = try RawClient()
            _ = try raw.handshake(socketPath: helper.socketPath,
                                  initType: family == .rsa ? RsaMessageType.initialize : EddsaMessageType.initialize,
                                  syncedType: family == .rsa ? RsaMessageType.synced : EddsaMessageType.synced)
            handle = try #require(raw.session)
        case .stream:
            let s = try UnixSocket(.stream)
            try s.connect(to: UnixAddress(path: helper.socketPath))
            handle = SocketHandle(s)
        }
    }

    /// Waits for room as long as the helper does not read; throws once it is gone.
    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            try waitUntilWritable(seconds: 60)
            offset += try handle.socket.writeSome(bytes, from: offset)
        }
    }

    func waitUntilWritable(seconds: Double) throws {
        var polls = PollSet()
        polls.add(handle.socket.rawValue, .writable)
        _ = try polls.wait(timeoutMilliseconds: Int32(seconds * 1000))
    }
}

/// `/proc/<pid>/status`, read once.
struct ProcStatus {
    let text: String
    init(pid: Int32) throws { text = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) }

    /// A `kB` field such as VmRSS (resident now) or VmHWM (peak resident).
    func kibibytes(_ field: String) throws -> Int {
        let line = try #require(text.split(separator: "\n").first { $0.hasPrefix(field + ":") })
        return try #require(Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]))
    }
}
