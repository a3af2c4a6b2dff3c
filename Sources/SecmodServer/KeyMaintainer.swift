import SecmodBase
import SecmodCrypto
import SecmodKeys
import SecmodSystem
import SecmodWire

/// Creates, replaces and deletes keys on a thread of its own, so that neither RSA key
/// generation (seconds for 4096 bits), fsync nor a token's calls ever stall signing on the
/// event loop. A new key's announcement is signed here too, since the security module key
/// may be in a token. Jobs run in the order submitted; each reports back through the
/// loop's mailbox.
final class KeyMaintainer<Family: KeyFamily>: @unchecked Sendable {
    typealias Job = MaintenanceJob

    enum Result: Sendable {
        case created(KeySlot, material: Family.Material, announcement: KeyAnnouncement, replacing: Bool)
        /// The job failed; the engine runs it again later.
        case failed(job: Job, error: SecmodError)
        case removed(KeySlot)
    }

    private let family: Family
    private let stores: KeyStores
    private let securityModule: any Ed25519Signer
    /// The token label of a key: `<section>/<group>/<anchor seconds>`.
    private let labelPrefix: String
    private let queue = Locked<FIFO<Job?>>(FIFO())
    private let semaphore = CountingSemaphore()
    private let deliver: @Sendable (Result) -> Void
    private var thread: OSThread?

    init(family: Family, stores: KeyStores, securityModule: any Ed25519Signer, labelPrefix: String,
         deliver: @escaping @Sendable (Result) -> Void) {
        self.family = family
        self.stores = stores
        self.securityModule = securityModule
        self.labelPrefix = labelPrefix
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
            let group = family.groups[slot.group]
            let label = ([labelPrefix] + (group.name.isEmpty ? [] : [group.name]) + [String(slot.anchor.seconds)]).joined(separator: "/")
            let location = KeyLocation(directory: group.directory, anchor: slot.anchor, label: label)
            do throws(SecmodError) {
                let stored = try stores.create(family.algorithm(group: slot.group), at: location, replacing: replacing)
                let material: Family.Material, announcement: KeyAnnouncement
                do throws(SecmodError) {
                    material = try family.material(stored)
                    announcement = try family.announce(material, group: slot.group, anchor: slot.anchor,
                                                       duration: group.schedule.duration, securityModule: securityModule)
                } catch {
                    // Stored but never announced (a security module key in a token that
                    // failed): no client knows it. A new key goes, so that the retry can
                    // create one; a successor stays, and the retry replaces it in one rename.
                    if !replacing { try? stores.remove(directory: group.directory, anchor: slot.anchor) }
                    throw error
                }
                return .created(slot, material: material, announcement: announcement, replacing: replacing)
            } catch {
                // A revoked key's file stays until a retry replaces it in one rename: the
                // audit record already keeps it from being served after a restart, and a
                // removal could fail the same way the write did.
                return .failed(job: job, error: error)
            }
        case let .remove(slot):
            do throws(SecmodError) {
                try stores.remove(directory: family.groups[slot.group].directory, anchor: slot.anchor)
                return .removed(slot)
            } catch {
                return .failed(job: job, error: error)
            }
        }
    }
}
