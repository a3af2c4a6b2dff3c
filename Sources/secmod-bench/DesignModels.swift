import Glibc
import SecmodBase
import SecmodCrypto
import SecmodSystem
import Synchronization

/// Two minimal signing servers inside this process, with the helper's signing call, session
/// sockets and per-message credential check, but none of the rest of its engine (no parsing,
/// bounds, ordering or counters): what each server design can reach at best on this machine,
/// measured beside the helper in the same run.
///
/// - `pool`: the helper's design. One loop thread waits in `epoll_wait` on every session,
///   receives each request and hands it through a queue and a semaphore to one of two
///   workers, which signs and sends the reply.
/// - `inline`: one thread per CPU, each waiting on its own share of the sessions, signing
///   where it received. No hand-off between threads.
///
/// Eight blocking client threads, each on its own `socketpair` (SOCK_SEQPACKET, as the
/// datagram transport's sessions), send a 100-byte request and wait for a 64-byte answer.
/// The helper's `eddsa.ratio.c8` can approach the `pool` model's ratio, not pass it beyond
/// the noise; the distance between the two models is what the design itself costs here.
enum DesignModels {
    enum Model: String, CaseIterable { case pool, inline }

    /// Round trips per second of `clients` blocking clients against `model`, over `seconds`
    /// after `warmup` seconds.
    static func measure(_ model: Model, key: Ed25519PrivateKey, clients: Int, servers: Int,
                        warmup: Double, seconds: Double) throws(SecmodError) -> Double {
        var serverBoxes: [SocketBox] = []
        var clientEnds: [SocketBox] = []
        for _ in 0..<clients {
            let pair = try UnixSocket.pair(.seqpacket)
            // As the helper and its client library: both ends take the sender's credentials
            // with every message, and both check them.
            do throws(Errno) {
                try pair.kept.setPassCredentials()
                try pair.passed.setPassCredentials()
            } catch {
                throw error.error("SO_PASSCRED")
            }
            clientEnds.append(SocketBox(pair.kept))
            serverBoxes.append(SocketBox(pair.passed))
        }
        let serverEnds = serverBoxes
        let stop = StopFlag()
        let counters = (0..<clients).map { _ in RoundTripCounter() }
        var serverThreads: [OSThread] = []
        var queue: ModelQueue?
        switch model {
        case .inline:
            for s in 0..<servers {
                let mine = stride(from: s, to: clients, by: servers).map { serverEnds[$0] }
                serverThreads.append(try OSThread.start(name: "model-inline-\(s)") { serve(mine, key: key, stop: stop) })
            }
        case .pool:
            let jobs = ModelQueue()
            queue = jobs
            serverThreads.append(try OSThread.start(name: "model-loop") { receive(serverEnds, into: jobs, stop: stop) })
            for w in 0..<servers {
                serverThreads.append(try OSThread.start(name: "model-worker-\(w)") { work(jobs, key: key) })
            }
        }
        var clientThreads: [OSThread] = []
        for c in 0..<clients {
            let end = clientEnds[c], counter = counters[c]
            clientThreads.append(try OSThread.start(name: "model-client-\(c)") { roundTrips(end, counter: counter, stop: stop) })
        }
        Clock.sleep(microseconds: UInt64(warmup * 1e6))
        let first = counters.reduce(0) { $0 + $1.value }, start = Clock.monotonicNanoseconds()
        Clock.sleep(microseconds: UInt64(seconds * 1e6))
        let last = counters.reduce(0) { $0 + $1.value }, end = Clock.monotonicNanoseconds()
        stop.set()
        for t in clientThreads { t.join() }
        // Clients are done: a nil job ends each worker; loops end on their next idle wait.
        for _ in 0..<servers { queue?.push(nil) }
        for t in serverThreads { t.join() }
        return Double(last - first) / (Double(end - start) / 1e9)
    }

    /// A client: request, wait for the answer, count; until `stop`. A server that stopped
    /// answering ends the client after a second instead of hanging the benchmark.
    private static func roundTrips(_ end: SocketBox, counter: RoundTripCounter, stop: StopFlag) {
        guard (try? end.socket.setReceiveTimeout(milliseconds: 1000)) != nil else { return }
        let request = [UInt8](repeating: 7, count: 100)
        var buffer = [UInt8](repeating: 0, count: 256)
        while !stop.isSet {
            guard (try? end.socket.send(request)) != nil,
                  let received = try? end.socket.receive(into: &buffer, blocking: true), received.length > 0,
                  received.credentials?.uid == uid else { return }
            counter.add()
        }
    }

    /// The `inline` server: wait on its sessions, sign each request where it arrived.
    private static func serve(_ ends: [SocketBox], key: Ed25519PrivateKey, stop: StopFlag) {
        eachRequest(on: ends, stop: stop) { end, request in _ = try? end.socket.send(key.sign(request), blocking: true) }
    }

    /// The `pool` model's loop: receive and queue; the workers sign and answer.
    private static func receive(_ ends: [SocketBox], into queue: ModelQueue, stop: StopFlag) {
        eachRequest(on: ends, stop: stop) { end, request in queue.push(ModelJob(end: end, request: request)) }
    }

    /// A server loop: waits on `ends` and hands each request from this process's uid to
    /// `handle`, until `stop` is set and a wait comes back empty.
    private static func eachRequest(on ends: [SocketBox], stop: StopFlag, _ handle: (SocketBox, [UInt8]) -> Void) {
        guard let epoll = try? Epoll() else { return }
        for (i, end) in ends.enumerated() { try? epoll.add(end.socket.rawValue, .readable, token: UInt64(i)) }
        var ready = EpollReadySet(capacity: 16)
        var buffer = [UInt8](repeating: 0, count: 256)
        while true {
            guard (try? epoll.wait(into: &ready, timeoutMilliseconds: 50)) != nil else { return }
            if ready.count == 0, stop.isSet { return }
            for r in 0..<ready.count {
                let end = ends[Int(ready[r].token)]
                guard let got = try? end.socket.receive(into: &buffer, blocking: false), got.length > 0,
                      got.credentials?.uid == uid else { continue }
                handle(end, Array(buffer[0..<got.length]))
            }
        }
    }

    private static func work(_ queue: ModelQueue, key: Ed25519PrivateKey) {
        while let job = queue.pop() {
            _ = try? job.end.socket.send(key.sign(job.request), blocking: true)
        }
    }
}

/// The uid every message must come from: this process's, on both sides.
private let uid = UInt32(geteuid())

/// One end of a model's session, shared by the threads that receive and answer on it.
private final class SocketBox: Sendable {
    let socket: UnixSocket
    init(_ socket: consuming UnixSocket) { self.socket = socket }
}

private struct ModelJob: Sendable {
    let end: SocketBox
    let request: [UInt8]
}

/// The pool model's queue: a list under a mutex and a counting semaphore, as `WorkerPool`.
/// A nil job ends one worker.
private final class ModelQueue: Sendable {
    private let jobs = Locked<[ModelJob?]>([])
    private let available = CountingSemaphore()

    func push(_ job: ModelJob?) {
        jobs.withLock { $0.append(job) }
        available.post()
    }

    func pop() -> ModelJob? {
        available.wait()
        return jobs.withLock { $0.removeFirst() }
    }
}

/// One client's round trips, read by the measuring thread.
private final class RoundTripCounter: Sendable {
    private let count = Atomic<Int>(0)
    var value: Int { count.load(ordering: .relaxed) }
    func add() { count.wrappingAdd(1, ordering: .relaxed) }
}
