import SecmodBase
import SecmodKeys
import SecmodWire
import Testing

@Suite struct KeyScheduleTests {
    /// Wire spec §9.3's verified example: DURATION_WITHDRAW 1 minute, OVERLAP 1 s,
    /// LOOKAHEAD 5 minutes → six keys at now, +59 s, …, +295 s.
    @Test func talerExample() {
        let s = KeySchedule(duration: RelativeTime(seconds: 60), overlap: RelativeTime(seconds: 1), lookahead: RelativeTime(seconds: 300))
        let now: UInt64 = 1_700_000_000_500_000
        let anchors = s.anchorsToCreate(after: nil, now: now)
        #expect(anchors.map(\.seconds) == [0, 59, 118, 177, 236, 295].map { 1_700_000_000 + $0 })
        #expect(anchors.allSatisfy { $0.isWholeSeconds })
        // Nothing more is due until the tail stops covering the lookahead.
        #expect(s.anchorsToCreate(after: anchors.last, now: now).isEmpty)
        let due = s.nextAction(anchors: anchors, tail: anchors.last)
        #expect(s.anchorsToCreate(after: anchors.last, now: due).count == 1)
        #expect(s.anchorsToCreate(after: anchors.last, now: due - 2).isEmpty)
    }

    @Test func restartsAtNowAfterDowntime() {
        let s = KeySchedule(duration: RelativeTime(seconds: 60), overlap: RelativeTime(seconds: 10), lookahead: RelativeTime(seconds: 60))
        let old = Timestamp(seconds: 1000)
        let anchors = s.anchorsToCreate(after: old, now: 5000 * 1_000_000)
        #expect(anchors.first == Timestamp(seconds: 5000))
        #expect(zip(anchors, anchors.dropFirst()).allSatisfy { $1.seconds - $0.seconds == 50 })
    }

    @Test func validityAndExpiry() {
        let s = KeySchedule(duration: RelativeTime(seconds: 60), overlap: RelativeTime(seconds: 1), lookahead: RelativeTime(seconds: 300))
        let a = Timestamp(seconds: 100)
        #expect(!s.isValid(anchor: a, now: 99_999_999))
        #expect(s.isValid(anchor: a, now: 100_000_000))
        #expect(s.isValid(anchor: a, now: 159_999_999))
        #expect(!s.isValid(anchor: a, now: 160_000_000))
        #expect(!s.isExpired(anchor: a, now: 160_000_000))
        #expect(s.isExpired(anchor: a, now: 160_000_001))
        #expect(s.nextAction(anchors: [a], tail: a) <= 160_000_001)
    }
}
