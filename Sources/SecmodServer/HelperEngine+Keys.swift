import Logging
import SecmodBase
import SecmodCrypto
import SecmodKeys
import SecmodPkcs11
import SecmodSystem
import SecmodWire
#if canImport(Glibc)
import Glibc
#endif

/// The key lifecycle on the loop: loading at start, the schedule, revocation, and the
/// results of the maintenance thread.
extension HelperEngine {
    /// Refuses a key store that is not the helper's alone: a loose directory or module key
    /// stops the helper with the fix in the message, because only the operator can know
    /// whether someone read it in the meantime.
    static func checkKeyStorage(family: Family, settings: HelperSettings, logger: Logger) throws(SecmodError) {
        let report = KeyStoreInspection.inspect(family: family, settings: settings)
        for line in try PrivateStorage.apply(report) { logger.notice("\(line)") }
        // SM_PRIV_KEY is checked again as it is read (SecurityModuleKey.load).
    }

    /// One helper per key store, for the process's life: two helpers signing with the same
    /// keys would each count only their own signatures.
    static func lock(_ directory: String, what: String) throws(SecmodError) -> FileLock {
        try FileSystem.createDirectories(directory, mode: 0o700)
        return try FileLock(path: directory + "/" + KeyDirectory.lockFileName, what: "\(what) \(directory)")
    }

    static func loadSecurityModuleKey(settings: HelperSettings, token: Pkcs11Token?,
                                      logger: Logger) throws(SecmodError) -> any Ed25519Signer {
        let (key, created) = try SecurityModuleKey.loadOrCreate(
            path: settings.securityModuleKeyPath, token: token, createInToken: settings.securityModuleKeyStore == .pkcs11,
            label: settings.section + "/security-module-key")
        let pub = CrockfordBase32.encode(key.publicKey)
        if created {
            let place = settings.securityModuleKeyStore == .pkcs11 ? " in token '\(settings.pkcs11?.token ?? "")'" : ""
            logger.notice("created security module key \(settings.securityModuleKeyPath)\(place); public key \(pub)")
        } else {
            logger.info("security module public key \(pub)")
        }
        return key
    }

    /// Loads every key file, announces nothing yet. Files it cannot use are logged and left
    /// on disk: a key is never deleted because this version failed to read it.
    func loadKeys() throws(SecmodError) {
        let now = settings.wallNow()
        for (index, group) in family.groups.enumerated() {
            for entry in try group.directory.scan(plausibleSize: family.isPlausibleKeyFileSize) {
                switch entry {
                case let .skipped(name, reason):
                    logger.warning("skipping \(LogText.quoted(group.directory.path + "/" + name)): \(reason)")
                case let .key(anchor, path):
                    if group.schedule.isExpired(anchor: anchor, now: now) {
                        logger.notice("deleting expired key \(path)")
                        do throws(SecmodError) { try keyStores.remove(directory: group.directory, anchor: anchor) } catch {
                            logger.error("could not delete expired key \(path): \(error)")
                        }
                        continue
                    }
                    do throws(SecmodError) {
                        let stored = try keyStores.load(family.algorithm(group: index), path: path,
                                                        maximumFileSize: family.maximumKeyFileSize)
                        let material = try family.material(stored)
                        let announcement = try family.announce(material, group: index, anchor: anchor,
                                                               duration: group.schedule.duration, securityModule: securityModuleKey)
                        switch serve(material, announcement: announcement, group: index, anchor: anchor) {
                        case .served: break
                        case .duplicate:
                            logger.warning("skipping \(path): the same key is already loaded from another file")
                        case .revoked:
                            // Revoked before a crash, and its successor never reached the disk.
                            logger.warning("not serving \(path): its key was revoked (its audit record says so); creating its successor")
                            lifecycle.loadedRevoked(KeySlot(group: index, anchor: anchor))
                        }
                    } catch {
                        logger.error("skipping unusable key \(path): \(error)")
                    }
                }
            }
        }
        sweepToken()
    }

    /// Token objects this helper made that no reference names: a crash came between
    /// making one and writing its reference, so no client ever saw it.
    private func sweepToken() {
        do throws(SecmodError) {
            let sweep = try keyStores.sweep()
            for name in sweep.destroyed {
                logger.notice("destroyed token key \(name): no key reference names it (left by an interrupted key creation, never announced)")
            }
            for line in sweep.kept { logger.warning("kept token key \(line)") }
        } catch {
            logger.error("could not look for unreferenced keys in the token: \(error)")
        }
    }

    enum ServeOutcome {
        case served(ServedKey<Family.Material>)
        /// The same key is already served (from another file).
        case duplicate
        /// Its audit record says it was revoked: it must never sign or be announced again.
        case revoked
    }

    /// Adds a key to the registry.
    func serve(_ material: Family.Material, announcement: KeyAnnouncement, group: Int, anchor: Timestamp) -> ServeOutcome {
        let duration = family.groups[group].schedule.duration
        let section = family.groups[group].name.isEmpty ? settings.section : family.groups[group].name
        let audit = auditBook.counter(section: section, anchor: anchor, id: announcement.id)
        if audit.isRevoked { return .revoked }
        let key = ServedKey(group: group, anchor: anchor, duration: duration, material: material, announcement: announcement,
                            audit: audit)
        return registry.insert(key) ? .served(key) : .duplicate
    }

    /// Creates the socket file at UNIXPATH with mode 0620, after making sure no live helper
    /// already serves it.
    func openListener() throws(SecmodError) {
        listener = try ServiceSocket.open(path: settings.unixPath, stream: settings.socketType == .stream, mode: 0o620)
    }

    /// The next wall-clock µs at which the schedule must run.
    func nextScheduleAction(now: UInt64) -> UInt64 {
        lifecycle.nextAction(served: registry.anchors(group:))
    }

    /// Expires old keys (PURGE, then delete the file) and asks for the keys the lookahead
    /// needs. Runs at start and whenever the timer says so.
    func maintainKeys(now: UInt64) {
        assertOnLoop()
        perform(lifecycle.tick(now: now, served: registry.anchors(group:)))
    }

    func handleMaintenance(_ result: KeyMaintainer<Family>.Result) {
        assertOnLoop()
        let now = settings.wallNow()
        switch result {
        case let .created(slot, material, announcement, replacing):
            perform(lifecycle.created(slot, replacing: replacing, now: now), material: (material, announcement))
        case let .failed(job, error):
            let key = describe(job.slot.anchor, group: job.slot.group)
            switch job {
            case .create:
                logger.error("creating key \(key) failed, will retry in 10 s: \(error)")
            case .replace:
                logger.error("replacing revoked key \(key) failed; it no longer signs, and its file stays until a successor replaces it; will retry in 10 s: \(error)")
            case .remove:
                logger.error("deleting expired key \(key) failed, will retry in 10 s: \(error)")
            }
            perform(lifecycle.failed(job, now: now))
        case .removed:
            break
        }
    }

    /// Carries out what the key lifecycle decided. `material`: the key a `.created` result
    /// brought, for its `.serve` effect.
    func perform(_ effects: [KeyLifecycle.Effect], material: (Family.Material, KeyAnnouncement)? = nil) {
        assertOnLoop()
        for effect in effects {
            switch effect {
            case let .submit(job):
                maintainer.submit(job)
            case let .expire(slot):
                guard let key = registry.ordered.first(where: { $0.group == slot.group && $0.anchor == slot.anchor }) else { continue }
                registry.remove(key)
                key.audit.retire()  // requests still queued for it are refused, unsigned
                broadcast(key.announcement.purge)
                logger.notice("key \(describe(slot.anchor, group: slot.group)) expired")
            case let .serve(slot, announce, replacing):
                guard let material, case let .served(key) = serve(material.0, announcement: material.1, group: slot.group, anchor: slot.anchor) else {
                    logger.error("new key \(describe(slot.anchor, group: slot.group)) collides with a served or revoked key; not announced")
                    continue
                }
                logger.notice("\(replacing ? "replacement " : "")key \(describe(slot.anchor, group: slot.group)) created")
                if announce { broadcast(key.announcement.avail) }
            case let .sendPurge(purge, ids):
                for id in ids {
                    if let session = sessions[id], !session.closed { send(purge, to: session) }
                }
            case .becomeReady:
                logger.notice("\(registry.count) keys ready")
                for session in Array(sessions.values) where !session.dumped { sendKeyDump(session) }
            }
        }
    }

    /// REVOKE: the key stops signing at once. Its successor, with the same anchor, is made
    /// and atomically replaces its file; then PURGE(old) and AVAIL(new) go out together, as
    /// Taler's helpers send them: a client that waits for the PURGE then already has a
    /// successor to sign with. Unknown or already revoked keys are ignored, as in Taler.
    func revoke(id: [UInt8], by session: Session) {
        assertOnLoop()
        guard let key = registry.key(id: id) else {
            logger.info("session \(session.id) asked to revoke a key that is not served; ignored")
            return
        }
        registry.remove(key)
        // On disk first, so that the key stays revoked across a crash even if its successor
        // cannot be written.
        if let error = key.audit.markRevoked() {
            logger.error("could not record the revocation of key \(describe(key.anchor, group: key.group)) in its audit record: \(error); it holds from now on, and survives a restart once the successor's file replaces the key's")
        }
        // Only the sessions that have the key get its PURGE: one that connected since never
        // saw it (wire.md §8.2).
        let told = Set(sessions.values.filter { $0.dumped && !$0.closed }.map(\.id))
        perform(lifecycle.revoked(KeySlot(group: key.group, anchor: key.anchor), purge: key.announcement.purge, told: told))
        revokedSinceStart += 1
        logger.warning("key \(describe(key.anchor, group: key.group)) revoked by session \(session.id) (\(session.owner))")
    }

    /// `coin_eur_1/1796506369 (2026-12-05T21:32:49Z)`: the anchor as key files and Taler
    /// name it, and as an operator reads it. Key rotation is logged at MESSAGE, Taler's
    /// default level, so that it shows in a default journal.
    func describe(_ anchor: Timestamp, group: Int) -> String {
        let name = family.groups[group].name
        let when = "\(anchor.seconds) (\(CalendarTime.isoUTC(seconds: Int64(clamping: anchor.seconds))))"
        return name.isEmpty ? when : "\(name)/\(when)"
    }
}
