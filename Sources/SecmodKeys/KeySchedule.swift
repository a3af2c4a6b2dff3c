import SecmodBase
import SecmodWire

/// When keys start, how long they live and how far ahead they exist (wire.md §9.3, §9.4).
///
/// Pure: given the anchors that exist and the time, it says what to create and what has
/// expired. The engine does the I/O; this type is what the tests pin down.
public struct KeySchedule: Sendable, Equatable {
    /// How long each key is valid (`DURATION`, or `DURATION_WITHDRAW` for denominations).
    public let duration: RelativeTime
    /// How long consecutive keys overlap (`OVERLAP_DURATION`).
    public let overlap: RelativeTime
    /// How far into the future keys must exist (`LOOKAHEAD_SIGN`).
    public let lookahead: RelativeTime

    public init(duration: RelativeTime, overlap: RelativeTime, lookahead: RelativeTime) {
        precondition(overlap < duration, "OVERLAP_DURATION must be shorter than the key duration")
        self.duration = duration
        self.overlap = overlap
        self.lookahead = lookahead
    }

    /// The distance between consecutive anchors.
    public var spacing: RelativeTime { duration.subtracting(overlap) }

    /// Anchors of the keys to create now, after `tail` (the newest existing or pending
    /// anchor). Follows Taler: keep appending while the newest key ends before
    /// now + lookahead + overlap; after downtime the chain restarts at now, with no catch-up.
    public func anchorsToCreate(after tail: Timestamp?, now: UInt64) -> [Timestamp] {
        let nowTs = Timestamp.roundingDown(microseconds: now)
        var anchors: [Timestamp] = []
        var last = tail
        while true {
            if let t = last, !isPast(t.adding(duration).subtracting(lookahead).subtracting(overlap), now: now) { break }
            var anchor = nowTs
            if let t = last {
                let next = Timestamp.roundingDown(microseconds: t.adding(spacing).microseconds)
                if nowTs < next { anchor = next }
            }
            anchors.append(anchor)
            last = anchor
            if anchors.count > 100_000 { break }  // a guard against a degenerate configuration
        }
        return anchors
    }

    /// True once a key anchored at `anchor` is past its validity and may be deleted.
    public func isExpired(anchor: Timestamp, now: UInt64) -> Bool {
        isPast(anchor.adding(duration), now: now)
    }

    /// True while a key anchored at `anchor` may sign.
    public func isValid(anchor: Timestamp, now: UInt64) -> Bool {
        anchor.microseconds <= now && now < anchor.adding(duration).microseconds
    }

    /// The next moment this schedule needs attention: the earliest expiry among `anchors`,
    /// or when the newest key no longer covers the lookahead.
    public func nextAction(anchors: [Timestamp], tail: Timestamp?) -> UInt64 {
        var next = UInt64.max
        if let oldest = anchors.min() { next = min(next, oldest.adding(duration).microseconds &+ 1) }
        if let tail { next = min(next, tail.adding(duration).subtracting(lookahead).subtracting(overlap).microseconds &+ 1) }
        return next
    }

    private func isPast(_ t: Timestamp, now: UInt64) -> Bool { t.microseconds < now }
}
