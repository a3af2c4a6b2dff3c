import SecmodCrypto
import SecmodBase

/// LOCK and UNLOCK (RFC 9987 §6.9): while locked the agent lists no keys and signs nothing.
/// The passphrase is kept only as a salted hash (a fresh salt per lock), compared in
/// constant time. A wrong passphrase starts a back-off (0.5 s doubling to 30 s) during
/// which every UNLOCK is refused unchecked: guessing costs time without the loop ever
/// sleeping. Pure state, owned by the loop; the clock is a parameter.
struct AgentLock {
    private var salt: [UInt8] = []
    private var hash: [UInt8] = []
    private(set) var isLocked = false
    private var failures = 0
    private var refuseUntil: UInt64 = 0

    enum Outcome: Equatable {
        case done
        case refused(AgentRefusal)
    }

    mutating func lock(passphrase: [UInt8]) -> Outcome {
        guard !isLocked else { return .refused(.locked) }
        salt = randomBytes(32)
        hash = Self.digest(passphrase, salt: salt)
        isLocked = true
        failures = 0
        refuseUntil = 0
        return .done
    }

    /// `now`: monotonic µs.
    mutating func unlock(passphrase: [UInt8], now: UInt64) -> Outcome {
        guard isLocked else { return .refused(.unsupported) }
        guard now >= refuseUntil else { return .refused(.backoff) }
        guard ConstantTime.equal(Self.digest(passphrase, salt: salt), hash) else {
            failures += 1
            refuseUntil = now &+ min(500_000 << UInt64(min(failures - 1, 10)), 30_000_000)
            return .refused(.badPassphrase)
        }
        isLocked = false
        salt = []
        hash = []
        failures = 0
        return .done
    }

    private static func digest(_ passphrase: [UInt8], salt: [UInt8]) -> [UInt8] {
        SHA512.hash(Array("swift-secmod agent lock\0".utf8) + salt + passphrase)
    }
}
