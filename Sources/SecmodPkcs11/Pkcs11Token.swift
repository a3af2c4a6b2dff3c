internal import CPkcs11
import SecmodBase
import SecmodCrypto
import SecmodSystem

/// One token, found by its label, with the user logged in: a pool of sessions that worker
/// threads borrow one at a time, and the recovery when the token goes away.
///
/// A token can disappear (a networked HSM's link, a USB token pulled, a library that
/// restarts its daemon). Calls that find their session gone drop every idle session; the
/// next call opens a new one, finding the token by its label again (its slot may have
/// changed) and logging in. While that keeps failing, calls fail at once for a back-off
/// period that doubles from 0.1 s to 10 s, so that a dead token costs nothing per request
/// and is not hammered. `log` hears each change of state, once.
public final class Pkcs11Token: @unchecked Sendable {
    public let module: Pkcs11Module
    public let label: String
    private let pin: SecureBytes
    private let log: @Sendable (_ up: Bool, _ message: String) -> Void
    private let state = Locked(State())

    private struct State {
        var slot: UInt?
        var idle: [CK_SESSION_HANDLE] = []
        var handles: [[UInt8]: CK_OBJECT_HANDLE] = [:]
        var down = false
        var retryAt: UInt64 = 0
        var backoff: UInt64 = Pkcs11Token.firstBackoff
        var lastFailure = ""
        /// The token refused the PIN on a reconnection: never tried again (tokens lock a
        /// PIN after a few wrong attempts); the helper must be restarted.
        var pinRefused = false
        /// Lost sessions are logged at most once a second, with how many went unsaid: a
        /// token that fails every call must not fill the journal.
        var lostLoggedAt: UInt64?
        var lostUnsaid = 0
    }

    static let firstBackoff: UInt64 = 100_000
    static let longestBackoff: UInt64 = 10_000_000

    public init(module: Pkcs11Module, label: String, pin: consuming SecureBytes,
                log: @escaping @Sendable (_ up: Bool, _ message: String) -> Void) {
        self.module = module
        self.label = label
        self.pin = pin
        self.log = log
    }

    /// Finds the token and logs in, failing now rather than at the first request: at start
    /// a wrong label or PIN is the operator's to fix.
    public func connect() throws(SecmodError) {
        let token = try module.token(labelled: label)
        let session: Pkcs11Session
        do throws(Pkcs11Failure) {
            session = try Pkcs11Session.open(module, slot: token.slot)
            do throws(Pkcs11Failure) { try session.login(pin: pin) } catch {
                session.close()
                throw error
            }
        } catch {
            // A wrong PIN is the operator's to fix, and must not be tried again and again by
            // a restarting service: tokens lock the PIN after a few wrong attempts.
            if error.returnCode.isPinProblem {
                throw SecmodError(.configValue, "token '\(label)' in \(module.path) refused the PIN from PKCS11_PIN_FILE: \(error.call) returned \(error.returnCode)")
            }
            throw error.error("token '\(label)' in \(module.path)")
        }
        state.withLock {
            $0.slot = token.slot
            $0.idle.append(session.handle)
        }
    }

    /// False while the token is unavailable (lost, in back-off) or refused the PIN.
    public var isAvailable: Bool { state.withLock { !$0.down && !$0.pinRefused } }

    /// The mechanisms of the token, to check at start against what the helper needs.
    public func mechanisms() throws(SecmodError) -> Set<UInt> {
        try module.mechanisms(slot: try module.token(labelled: label).slot)
    }

    /// Runs `body` on a session of its own; see the type's comment for what happens when the
    /// token fails.
    func withSession<R>(_ what: String, _ body: (Pkcs11Session) throws(Pkcs11Failure) -> R) throws(SecmodError) -> R {
        var retried = false
        while true {
            let session = try acquire()
            do throws(Pkcs11Failure) {
                let result = try body(session)
                release(session)
                return result
            } catch {
                if error.returnCode.notLoggedIn, !retried, !state.withLock({ $0.pinRefused }) {
                    retried = true
                    do throws(Pkcs11Failure) { try session.login(pin: pin) } catch {
                        if error.returnCode.isPinProblem { refusedPin(error) }
                    }
                    release(session)
                    continue
                }
                if error.returnCode.sessionLost {
                    lost(session, because: error)
                    // A session can be invalidated alone (a library that timed it out): one
                    // more try on a fresh one before the request fails.
                    if !retried { retried = true; continue }
                } else {
                    release(session)
                }
                throw error.error("token '\(label)': \(what)")
            }
        }
    }

    private func acquire() throws(SecmodError) -> Pkcs11Session {
        enum Next { case session(CK_SESSION_HANDLE), open(UInt?), refuse(String) }
        let now = Clock.monotonicMicroseconds()
        let next: Next = state.withLock { s in
            if let handle = s.idle.popLast() { return .session(handle) }
            if s.pinRefused { return .refuse("token '\(label)' refused the PIN; fix PKCS11_PIN_FILE and restart the helper") }
            if s.down, now < s.retryAt {
                let tenths = (s.retryAt - now + 99_999) / 100_000
                return .refuse("token '\(label)' is unavailable (\(s.lastFailure)); next attempt in \(tenths / 10).\(tenths % 10) s")
            }
            return .open(s.slot)
        }
        switch next {
        case let .session(handle): return Pkcs11Session(module: module, handle: handle)
        case let .refuse(message): throw SecmodError(.token, message)
        case let .open(knownSlot):
            do throws(SecmodError) {
                let slot: UInt
                if let knownSlot { slot = knownSlot } else { slot = try module.token(labelled: label).slot }
                let session: Pkcs11Session
                do throws(Pkcs11Failure) {
                    session = try Pkcs11Session.open(module, slot: slot)
                    do throws(Pkcs11Failure) { try session.login(pin: pin) } catch {
                        session.close()
                        throw error
                    }
                } catch {
                    if error.returnCode.isPinProblem { refusedPin(error) }
                    throw error.error("token '\(label)'")
                }
                let wasDown = state.withLock { s in
                    let was = s.down
                    s.slot = slot
                    s.down = false
                    s.backoff = Self.firstBackoff
                    return was
                }
                if wasDown { log(true, "token '\(label)' is available again") }
                return session
            } catch {
                let first = state.withLock { s in
                    let first = !s.down
                    s.down = true
                    s.slot = nil
                    s.handles.removeAll()
                    s.retryAt = Clock.monotonicMicroseconds() + s.backoff
                    s.backoff = min(s.backoff * 2, Self.longestBackoff)
                    s.lastFailure = error.message
                    return first
                }
                if first { log(false, "\(error.message); requests fail until it is back, retrying with back-off up to \(Self.longestBackoff / 1_000_000) s") }
                throw error
            }
        }
    }

    /// The token refused the PIN after start (it was changed, or locked): never again, so
    /// that repeated attempts do not lock it. Said once.
    private func refusedPin(_ failure: Pkcs11Failure) {
        let first = state.withLock { s in
            defer { s.pinRefused = true }
            return !s.pinRefused
        }
        if first {
            log(false, "token '\(label)' refused the PIN (\(failure.call) returned \(failure.returnCode)); it is not tried again, so that the token does not lock it: fix PKCS11_PIN_FILE and restart the helper")
        }
    }

    private func release(_ session: Pkcs11Session) {
        state.withLock { $0.idle.append(session.handle) }
    }

    /// The session is gone, and probably every other one with it: they are closed (errors
    /// ignored) and the next call opens a new one.
    private func lost(_ session: Pkcs11Session, because failure: Pkcs11Failure) {
        let now = Clock.monotonicMicroseconds()
        let (idle, say, unsaid) = state.withLock { s in
            let idle = s.idle
            s.idle.removeAll()
            s.handles.removeAll()
            s.slot = nil
            s.lastFailure = "\(failure.call) returned \(failure.returnCode)"
            guard s.lostLoggedAt.map({ now &- $0 >= 1_000_000 }) ?? true else {
                s.lostUnsaid += 1
                return (idle, false, 0)
            }
            let unsaid = s.lostUnsaid
            s.lostLoggedAt = now
            s.lostUnsaid = 0
            return (idle, true, unsaid)
        }
        session.close()
        for handle in idle { Pkcs11Session(module: module, handle: handle).close() }
        if say {
            let more = unsaid > 0 ? " (\(unsaid) more since the last such line)" : ""
            log(false, "token '\(label)': \(failure.call) returned \(failure.returnCode); opening a new session\(more)")
        }
    }

    // MARK: - Object handles

    func cachedHandle(id: [UInt8]) -> CK_OBJECT_HANDLE? { state.withLock { $0.handles[id] } }
    func cache(handle: CK_OBJECT_HANDLE, id: [UInt8]) { state.withLock { $0.handles[id] = handle } }
    func forget(id: [UInt8]) { _ = state.withLock { $0.handles.removeValue(forKey: id) } }
}
