import Logging
import SecmodBase
import SecmodKeys
import SecmodSystem

/// One key's signature count, shared by the workers that sign with it.
///
/// The count on disk is raised *before* signatures are made, so the file never says fewer
/// signatures than were made, and a crash overstates the count by at most one block:
/// - `reserved` is only ever raised to a value already written durably, and no signature
///   is admitted beyond `reserved`;
/// - when less than half a block is left, the worker that notices writes `used + block`
///   ahead, outside the counter's lock, while the other signers go on within the old
///   reservation (a write under the lock stalled every signer of the key for an fsync per
///   block: 8% of two cores at 200,000 Clause-Schnorr signatures a second);
/// - when the reservation runs out all the same (the loop never writes, a disk slower
///   than the signing), the next `admit` writes `used + n + block` under the lock and only
///   then signs, as before.
/// Every write (ahead, on exhaustion, at revocation, at a clean stop) holds `writing`, then
/// the state lock to build its record from the current state: one writer of the file at a
/// time, and the last record written always reflects everything before it (a revocation is
/// never overwritten by an older reservation).
package final class AuditCounter: Sendable {
    private struct State {
        var used: UInt64
        var reserved: UInt64
        /// Possible overcount inherited from earlier runs (their unused reservations).
        var carried: UInt64
        /// The file must be rewritten at a clean stop: this run signed, or the file still
        /// holds a crashed run's reservation.
        var dirty = false
        var revoked = false
        /// Expired: no new signature may start, though the record is not marked revoked.
        var retired = false
        /// A worker is writing the next reservation ahead.
        var extending = false
        var lastFailureLog: UInt64 = 0
    }

    private let directory: AuditDirectory
    private let identity: (section: String, anchor: UInt64, key: String)
    private let block: UInt64
    private let logger: Logger
    private let state: Locked<State>
    /// Held by whoever writes the file; taken before `state`, never after it. Counts the
    /// records written (a lock over an empty value let the compiler move the access outside
    /// the lock, which ThreadSanitizer reported).
    private let writing = Locked<UInt64>(0)
    /// Writes reservations ahead off the signers' threads; nil: the signer that notices writes.
    private let aheadWriter: AuditWriter?

    /// Continues from the record on disk, if any: its `signatures` already include its
    /// unused reservation, and its `overcount_bound` says how much that may be.
    package init(directory: AuditDirectory, section: String, anchor: UInt64, key: String, block: UInt64, logger: Logger,
                 writer: AuditWriter? = nil) {
        self.directory = directory
        aheadWriter = writer
        identity = (section, anchor, key)
        self.block = max(block, 1)
        self.logger = logger
        var start = State(used: 0, reserved: 0, carried: 0)
        do throws(SecmodError) {
            if let record = try directory.read(key: key) {
                start = State(used: record.signatures, reserved: record.signatures, carried: record.overcountBound,
                              dirty: record.state == .signing, revoked: record.revoked)
            }
        } catch {
            // Unreadable: keep it for the operator and refuse to sign with this key rather
            // than start a count from zero (an undercount) or overwrite evidence.
            logger.error("audit counter for key \(key) is unreadable, so that key will not sign: \(error)")
            start = State(used: UInt64.max, reserved: 0, carried: 0)
        }
        state = Locked(start)
    }

    /// Whether a worker may sign, decided under the counter's lock so that a revocation or
    /// expiry stops every signature that has not started yet.
    package enum Admission: Equatable {
        case admitted
        /// Revoked or expired since the request was queued: answer "key unknown".
        case retired
        /// The count could not be made durable: refuse to sign.
        case unrecordable
        /// Admitting needs a reservation written to disk, which the caller may not wait for
        /// (the event loop): nothing was admitted; try again where blocking is allowed.
        case wouldBlock
    }

    /// Reserves `n` signatures. Anything but `.admitted` means: do not sign. A signature that
    /// then fails must be given back with `release`, so that the count stays exact.
    /// `mayWrite` false: answer `.wouldBlock` instead of writing a reservation.
    package func admit(_ n: UInt64 = 1, mayWrite: Bool = true) -> Admission {
        let (admission, writeAhead): (Admission?, Bool) = state.withLock { s in
            guard !s.revoked, !s.retired else { return (.retired, false) }
            guard s.used != UInt64.max else { return (.unrecordable, false) }
            guard s.used + n <= s.reserved else { return (mayWrite ? nil : .wouldBlock, false) }
            s.used += n
            s.dirty = true
            guard mayWrite, !s.extending, s.reserved - s.used < block / 2 else { return (.admitted, false) }
            s.extending = true
            return (.admitted, true)
        }
        if writeAhead, !(aheadWriter?.submit(self) ?? false) { reserveAhead() }
        return admission ?? admitWriting(n)
    }

    /// The reservation ran out: writes `used + n + block` and admits, while this key's other
    /// signers wait (they could not sign anyway).
    private func admitWriting(_ n: UInt64) -> Admission {
        asWriter {
            state.withLock { s in
                guard !s.revoked, !s.retired else { return .retired }
                guard s.used != UInt64.max else { return .unrecordable }
                if s.used + n > s.reserved {
                    let target = s.used + n + block
                    do throws(SecmodError) { try directory.write(record(s, signatures: target)) } catch {
                        logFailure(&s, error)
                        return .unrecordable
                    }
                    s.reserved = target
                }
                s.used += n
                s.dirty = true
                return .admitted
            }
        }
    }

    /// Writes `used + block` before the reservation runs out, with the state lock released
    /// during the write: signers go on within the old reservation, which stays the limit
    /// until the new one is on disk. A failed write is retried at exhaustion, where it
    /// refuses to sign.
    func reserveAhead() {
        asWriter {
            let ahead: AuditRecord? = state.withLock { s in
                let target = s.used + block
                guard s.used != UInt64.max, !s.revoked, !s.retired, target > s.reserved else {
                    s.extending = false
                    return nil
                }
                return record(s, signatures: target)
            }
            guard let ahead else { return }
            var failure: SecmodError?
            do throws(SecmodError) { try directory.write(ahead) } catch { failure = error }
            state.withLock { s in
                s.extending = false
                if let failure {
                    logFailure(&s, failure)
                } else if ahead.signatures > s.reserved {
                    s.reserved = ahead.signatures
                }
            }
        }
    }

    /// Runs `body` as the file's one writer.
    private func asWriter<R>(_ body: () -> R) -> R {
        writing.withLock { written in
            written &+= 1
            return body()
        }
    }

    /// A reservation of `signatures` in all, from the state it is written in.
    private func record(_ s: State, signatures: UInt64) -> AuditRecord {
        AuditRecord(section: identity.section, anchorSeconds: identity.anchor, key: identity.key, signatures: signatures,
                    overcountBound: s.carried + signatures - s.used, state: .signing, revoked: s.revoked)
    }

    private func logFailure(_ s: inout State, _ error: SecmodError) {
        let now = Clock.monotonicMicroseconds()
        guard now &- s.lastFailureLog > 1_000_000 else { return }
        s.lastFailureLog = now
        logger.error("cannot record signatures of key \(identity.key), refusing to sign with it until the audit counter can be written: \(error)")
    }

    /// Gives back `n` admitted signatures that were not produced (m >= n, a failed
    /// self-check): the reservation on disk still covers them, and the count stays exact.
    package func release(_ n: UInt64 = 1) {
        state.withLock { s in
            guard s.used != UInt64.max, s.used >= n else { return }
            s.used -= n
        }
    }

    /// Expiry: no signature that has not started yet may use the key.
    func retire() {
        state.withLock { $0.retired = true }
    }

    /// Signatures made with this key, exactly (this run's and the record's), and how many of
    /// those may not have been made (reservations of earlier runs that ended in a crash).
    /// Nil for a counter that could not be read.
    package var signatures: (count: UInt64, overcountAtMost: UInt64)? {
        state.withLock { s in s.used == UInt64.max ? nil : (s.used, s.carried) }
    }

    /// Whether the record on disk says the key was revoked (read at start).
    var isRevoked: Bool { state.withLock { $0.revoked } }

    /// Records the revocation durably, with the current reservation, before it is acted on.
    /// Nil when written; the error otherwise (the revocation then holds in memory, and on
    /// disk once the successor's file replaces the key's).
    func markRevoked() -> SecmodError? {
        asWriter { state.withLock { s in
            s.revoked = true
            guard s.used != UInt64.max else {
                return SecmodError(.keyFile, "its audit counter is unreadable and is kept as it is")
            }
            let signatures = max(s.reserved, s.used)
            let record = AuditRecord(section: identity.section, anchorSeconds: identity.anchor, key: identity.key,
                                     signatures: signatures, overcountBound: s.carried + signatures - s.used,
                                     state: signatures > s.used ? .signing : .closed, revoked: true)
            do throws(SecmodError) {
                try directory.write(record)
                s.reserved = signatures
                return nil
            } catch {
                return error
            }
        } }
    }

    /// At a clean stop, after the last signature: the exact count.
    package func close() {
        asWriter { state.withLock { s in
            s.retired = true  // nothing signs after the stop, nor reserves ahead
            guard s.used != UInt64.max, s.dirty else { return }
            let record = AuditRecord(section: identity.section, anchorSeconds: identity.anchor, key: identity.key,
                                     signatures: s.used, overcountBound: s.carried, state: .closed, revoked: s.revoked)
            do throws(SecmodError) {
                try directory.write(record)
                s.reserved = s.used
                s.dirty = false
            } catch {
                logger.error("could not write the exact count of key \(identity.key); the file keeps its upper bound: \(error)")
            }
        } }
    }
}
