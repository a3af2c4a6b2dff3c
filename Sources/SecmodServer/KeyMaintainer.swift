import SecmodBase
import SecmodCrypto
import SecmodKeys
import SecmodSystem
import SecmodWire

/// Creates, replaces and deletes key files on a thread of its own, so that neither RSA key
/// generation (seconds for 4096 bits) nor fsync ever stalls signing on the event loop.
/// Jobs run in the order submitted; each reports back through the loop's mailbox.
final class KeyMaintainer<Family: KeyFamily>: @unchecked Sendable {
    typealias Job = MaintenanceJob

    enum Result: Sendable {
        case created(KeySlot, material: Family.Material, replacing: Bool)
        /// The job failed; the engine runs it again later.
        case failed(job: Job, error: SecmodError)
        case removed(KeySlot)
    }

    private let family: Family
    private let queue = Locked<FIFO<Job?>>(FIFO())
    private let semaphore = CountingSemaphore()
    private let deliver: @Sendable (Result) -> Void
    private var thread: OSThread?

    init(family: Family, deliver: @escaping @Sendable (Result) -> Void) {
        self.family = family
        self.deliver = deliver
    }

    func start() throws(SecmodError) {
        thread = try OSThread.start(name: "key-maintainer") { [self] in
            // Generation must not take the CPU from signing (RSA-4096 takes seconds).
            OSThread.lowerCurrentPriority(by: 10)
            run()
        }
    }

    func submit(_ job: Job) {
        queue.withLock { $0.append(job) }
        semaphore.post()
    }

    /// Finishes the job in progress and stops; queued jobs are dropped (the schedule
    /// recomputes them at the next start).
    func shutdown() {
        queue.withLock { q in q.removeAll(); q.append(nil) }
        semaphore.post()
        thread?.join()
    }

    private func run() {
        while true {
            semaphore.wait()
            guard let job = queue.withLock({ $0.popFirst() }) ?? nil else { return }
            deliver(perform(job))
        }
    }

    private func perform(_ job: Job) -> Result {
        switch job {
        case let .create(slot), let .replace(slot):
            let replacing = if case .replace = job { true } else { false }
            let directory = family.groups[slot.group].directory
            do throws(SecmodError) {
                let material = try family.generate(group: slot.group) { (contents) throws(SecmodError) in
                    if replacing {
                        try directory.storeReplacement(anchor: slot.anchor, contents: contents)
                    } else {
                        try directory.storeNew(anchor: slot.anchor, contents: contents)
                    }
                }
                return .created(slot, material: material, replacing: replacing)
            } catch {
                // A revoked key's file stays until a retry replaces it in one rename: the
                // audit record already keeps it from being served after a restart, and a
                // removal could fail the same way the write did.
                return .failed(job: job, error: error)
            }
        case let .remove(slot):
            do throws(SecmodError) {
                try family.groups[slot.group].directory.remove(anchor: slot.anchor)
                return .removed(slot)
            } catch {
                return .failed(job: job, error: error)
            }
        }
    }
}
