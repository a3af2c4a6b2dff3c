import SecmodBase
import SecmodSystem

/// What `METRICS_FILE` publishes, in Prometheus' text format for node_exporter's textfile
/// collector: no network listener, one file replaced atomically every few seconds.
///
/// Signature counts come from the audit counters (exact while the helper runs, unlike the
/// reserved blocks the audit files hold); failures are tallied here by Taler error code, as
/// the replies leave, from any thread.
final class HelperMetrics: Sendable {
    /// `Locked` (pthread), like every lock of the engine's: ThreadSanitizer understands it,
    /// and a failure is rare enough that the lock's cost does not matter.
    private let failures = Locked<[UInt32: UInt64]>([:])
    let failureType: UInt16

    init(failureType: UInt16) { self.failureType = failureType }

    /// Counts `reply` if it is a failure (a header, then the 32-bit Taler error code).
    /// Two byte compares for a signature: cheap enough for the signing path.
    func tally(_ reply: [UInt8]) {
        guard reply.count >= 8, UInt16(reply[2]) << 8 | UInt16(reply[3]) == failureType else { return }
        let code = UInt32(reply[4]) << 24 | UInt32(reply[5]) << 16 | UInt32(reply[6]) << 8 | UInt32(reply[7])
        failures.withLock { $0[code, default: 0] += 1 }
    }

    var failureCounts: [UInt32: UInt64] { failures.withLock { $0 } }

    /// One key as the loop sees it.
    struct KeyFigures: Sendable {
        var section: String
        var anchorSeconds: UInt64
        var endSeconds: UInt64
        var id: String
        var signatures: UInt64?
    }

    /// The loop's figures at one moment.
    struct Snapshot: Sendable {
        var program: String
        var nowSeconds: UInt64
        var keys: [KeyFigures]
        var failures: [UInt32: UInt64]
        var sessions: Int
        var queued: Int
        var revokedSinceStart: Int
        var pendingKeyWork: Int
        /// The token's label and whether it answers now; nil without a token.
        var token: (label: String, up: Bool)? = nil
    }

    /// The text format (https://prometheus.io/docs/instrumenting/exposition_formats/):
    /// HELP and TYPE once per metric, label values escaped.
    static func render(_ s: Snapshot) -> String {
        var out = ""
        func metric(_ name: String, _ type: String, _ help: String, _ samples: [(labels: [(String, String)], value: String)]) {
            out += "# HELP secmod_\(name) \(help)\n# TYPE secmod_\(name) \(type)\n"
            for sample in samples {
                let labels = ([("helper", s.program)] + sample.labels).map { "\($0.0)=\"\(escape($0.1))\"" }.joined(separator: ",")
                out += "secmod_\(name){\(labels)} \(sample.value)\n"
            }
        }
        metric("signatures_total", "counter", "Signatures made with each served key (exact while the helper runs).",
               s.keys.compactMap { k in k.signatures.map { ([("section", k.section), ("anchor", String(k.anchorSeconds)), ("key", k.id)], String($0)) } })
        metric("failures_total", "counter", "Requests answered with a failure since start, by Taler error code.",
               s.failures.sorted { $0.key < $1.key }.map { ([("code", String($0.key))], String($0.value)) })
        metric("keys", "gauge", "Keys by state: served (announced), valid (served and already started), future.",
               [([("state", "served")], String(s.keys.count)),
                ([("state", "valid")], String(s.keys.filter { $0.anchorSeconds <= s.nowSeconds }.count)),
                ([("state", "future")], String(s.keys.filter { $0.anchorSeconds > s.nowSeconds }.count))])
        metric("keys_revoked_total", "counter", "Keys revoked since start.", [([], String(s.revokedSinceStart))])
        metric("key_work_pending", "gauge", "Key files waiting to be created, replaced or deleted.", [([], String(s.pendingKeyWork))])
        metric("sessions", "gauge", "Client sessions open.", [([], String(s.sessions))])
        metric("queued_signatures", "gauge", "Signatures queued for the workers.", [([], String(s.queued))])
        metric("seconds_until_last_key_expires", "gauge", "Seconds until the last served key expires, per key section (0: none left).",
               Dictionary(grouping: s.keys, by: \.section).sorted { $0.key < $1.key }.map { section, keys in
                   let end = keys.map(\.endSeconds).max() ?? s.nowSeconds
                   return ([("section", section)], String(end > s.nowSeconds ? end - s.nowSeconds : 0))
               } + (s.keys.isEmpty ? [([("section", "")], "0")] : []))
        if let token = s.token {
            metric("token_up", "gauge", "1 while the PKCS#11 token answers, 0 while it is unavailable (requests fail with the helper-unavailable code).",
                   [([("token", token.label)], token.up ? "1" : "0")])
        }
        metric("last_update_seconds", "gauge", "When this file was written (Unix seconds).", [([], String(s.nowSeconds))])
        return out
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for c in text {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out
    }
}

/// Writes the metrics file on a thread of its own: the loop never waits for a disk. The
/// newest text wins; one still waiting is replaced.
final class MetricsWriter: @unchecked Sendable {
    private let path: String
    private let pending = Locked<(text: String?, stopping: Bool)>((nil, false))
    private let wake = CountingSemaphore()
    private var thread: OSThread?
    private let failed: @Sendable (SecmodError) -> Void

    init(path: String, failed: @escaping @Sendable (SecmodError) -> Void) {
        self.path = path
        self.failed = failed
    }

    func start() throws(SecmodError) {
        thread = try OSThread.start(name: "metrics") { [self] in run() }
    }

    func publish(_ text: String) {
        pending.withLock { $0.text = text }
        wake.post()
    }

    func stop() {
        pending.withLock { $0.stopping = true }
        wake.post()
        thread?.join()
        thread = nil
    }

    private func run() {
        let (directory, name) = Self.split(path)
        while true {
            wake.wait()
            let (text, stopping) = pending.withLock { state -> (String?, Bool) in
                defer { state.text = nil }
                return (state.text, state.stopping)
            }
            if let text {
                let bytes = Array(text.utf8)
                let failure: SecmodError? = bytes.withUnsafeBytes { raw in
                    do throws(SecmodError) {
                        try FileSystem.writeAtomically(directory: directory, name: name, mode: 0o644, existing: .replace, contents: raw)
                        return nil
                    } catch {
                        return error
                    }
                }
                if let failure { failed(failure) }
            }
            if stopping { return }
        }
    }

    static func split(_ path: String) -> (String, String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let directory = String(path[..<slash])
        return (directory.isEmpty ? "/" : directory, String(path[path.index(after: slash)...]))
    }
}
