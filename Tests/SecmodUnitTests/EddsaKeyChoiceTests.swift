import SecmodBase
@testable import SecmodServer
import SecmodKeys
import SecmodWire
import Testing

/// Which EdDSA key signs (wire.md §9.5): the oldest valid one, unless it expires within a
/// second while a younger key is valid.
@Suite struct EddsaKeyChoiceTests {
    // A key every 2 s, each valid 4 s: two keys valid at any time.
    let schedule = KeySchedule(duration: RelativeTime(seconds: 4), overlap: RelativeTime(seconds: 2), lookahead: RelativeTime(seconds: 10))
    let anchors = [100, 102, 104, 106].map { Timestamp(seconds: $0) }
    let margin = EddsaFamily.expiryMargin

    private func choice(at now: UInt64, anchors: [Timestamp]? = nil) -> UInt64? {
        let a = anchors ?? self.anchors
        return EddsaFamily.signingKeyIndex(anchors: a, schedule: schedule, now: now).map { a[$0].seconds }
    }

    @Test func theOldestValidKeySigns() {
        #expect(choice(at: 99_999_999) == nil, "no key is valid before the first anchor")
        #expect(choice(at: 100_000_000) == 100)
        #expect(choice(at: 102_500_000) == 100)
        #expect(choice(at: 104_000_000 - margin) == 100, "exactly a margin left: still the oldest")
    }

    @Test func aKeyAboutToExpirePassesToItsSuccessor() {
        #expect(choice(at: 104_000_000 - margin + 1) == 102)
        #expect(choice(at: 103_999_999) == 102)
        #expect(choice(at: 104_000_000) == 102, "the oldest has expired")
    }

    @Test func withoutAValidSuccessorTheOldestSignsToTheEnd() {
        // The younger key is not valid yet (its anchor is in the future).
        let gap = [Timestamp(seconds: 100), Timestamp(seconds: 105)]
        #expect(choice(at: 103_999_999, anchors: gap) == 100)
        #expect(choice(at: 104_000_000, anchors: gap) == nil)
        #expect(choice(at: 105_000_000, anchors: gap) == 105)
        #expect(choice(at: 200_000_000) == nil, "every key has expired")
    }
}
