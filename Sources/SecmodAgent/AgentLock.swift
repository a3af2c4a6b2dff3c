import SecmodCrypto
import SecmodBase

/// LOCK and UNLOCK (RFC 9987 §6.9): while locked the agent lists no keys and signs nothing.
/// The passphrase is kept only as a salted hash (a fresh salt per lock), compared in
/// constant time. A wrong passphrase starts a back-off for the uid that sent it (0.5 s
/// doubling to 30 s) during which its every UNLOCK is refused unchecked: guessing costs
/// time without the loop ever sleeping, and one user's wrong guesses do not keep another
/// from unlocking. Pure state, owned by the loop; the clock is a parameter.
struct AgentLock {
    private var salt: [UInt8] = []
    private var hash: [UInt8] = []
    private(set) var isLocked = false
    /// Per uid: wrong guesses so far and until when its UNLOCKs are refused. Only callers
    /// that may use a configured key reach UNLOCK, so the table is as small as the
    /// configuration's caller lists; it is cleared at each LOCK and UNLOCK.
    private var backoff: [UInt32: (failures: Int, until: UInt64)] = [:]

    enum Outcome: Equatable {
        case done
        case refused(AgentRefusal)
    }

    mutating func lock(passphrase: [UInt8]) -> Outcome {
        guard !isLocked else { return .refused(.locked) }
        salt = randomBytes(32)
        hash = Self.digest(passphrase, salt: salt)
        isLocked = true
        backoff = [:]
        return .done
    }

    /// `now`: monotonic µs.
    mutating func unlock(passphrase: [UInt8], uid: UInt32, now: UInt64) -> Outcome {
        guard isLocked else { return .refused(.unsupported) }
        if let b = backoff[uid], now < b.until { return .refused(.backoff) }
        guard ConstantTime.equal(Self.digest(passphrase, salt: salt), hash) else {
            let failures = (backoff[uid]?.failures ?? 0) + 1
            backoff[uid] = (failures, now &+ min(500_000 << UInt64(min(failures - 1, 10)), 30_000_000))
            return .refused(.badPassphrase)
        }
        isLocked = false
        salt = []
        hash = []
        backoff = [:]
        return .done
    }

    private static func digest(_ passphrase: [UInt8], salt: [UInt8]) -> [UInt8] {
        SHA512.hash(Array("swift-secmod agent lock\0".utf8) + salt + passphrase)
    }
}
