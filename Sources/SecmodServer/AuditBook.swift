import Logging
import SecmodBase
import SecmodCrypto
import SecmodKeys
import SecmodWire

/// Every key's `AuditCounter` of this run, so that the clean stop can write the exact
/// counts, including those of keys that expired or were revoked while the helper ran.
/// Owned by the event loop thread.
final class AuditBook {
    let directory: AuditDirectory
    let block: UInt64
    private let logger: Logger
    private var counters: [[UInt8]: AuditCounter] = [:]
    /// Writes every counter's reservation ahead, off the workers.
    private let writer = AuditWriter()

    init(directory: AuditDirectory, block: UInt64, logger: Logger) {
        self.directory = directory
        self.block = block
        self.logger = logger
    }

    /// The counter of the key with wire identity `id`; one per key, however often it is served.
    func counter(section: String, anchor: Timestamp, id: [UInt8]) -> AuditCounter {
        if let existing = counters[id] { return existing }
        let counter = AuditCounter(directory: directory, section: section, anchor: anchor.seconds,
                                   key: CrockfordBase32.encode(id), block: block, logger: logger, writer: writer)
        counters[id] = counter
        return counter
    }

    /// After the workers have stopped: the writer's last reservations, then the exact counts.
    func closeAll() {
        writer.shutdown()
        for counter in counters.values { counter.close() }
    }
}
