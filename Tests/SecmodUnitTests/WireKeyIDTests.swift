import SecmodWire
import Testing

/// `WireKeyID` compares eight bytes at a time and then the tail: every position, in the
/// words and in the tail, must count, and so must the length.
@Suite struct WireKeyIDTests {
    @Test func everyByteCountsInEveryLength() {
        for length in [0, 1, 7, 8, 9, 32, 63, 64, 65] {
            let id = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            #expect(WireKeyID(id) == WireKeyID(id))
            var lookup: [WireKeyID: Int] = [WireKeyID(id): length]
            #expect(lookup[WireKeyID(id)] == length)
            for position in 0..<length {
                for bit in [0, 7] {
                    var other = id
                    other[position] ^= UInt8(1) << UInt8(bit)
                    #expect(WireKeyID(other) != WireKeyID(id), "length \(length), byte \(position), bit \(bit)")
                    #expect(lookup[WireKeyID(other)] == nil)
                }
            }
            lookup[WireKeyID(id + [0])] = -1
            #expect(WireKeyID(id + [0]) != WireKeyID(id), "a longer id with a zero byte added, length \(length)")
            #expect(lookup[WireKeyID(id)] == length)
        }
    }

    /// `matches` compares an id with bytes inside a larger message (a request names its key
    /// at an offset): every byte of the range counts, and nothing outside it.
    @Test func matchesTheRangeOnlyAndEveryByteOfIt() {
        let id = (0..<64).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 5) }
        for offset in [0, 1, 8, 100] {
            var message = [UInt8](repeating: 0xAA, count: offset) + id + [0xBB, 0xCC]
            let range = offset..<offset + 64
            #expect(WireKeyID.matches(id, message, at: range))
            #expect(!WireKeyID.matches(id, message, at: offset..<offset + 63), "a shorter range, offset \(offset)")
            #expect(!WireKeyID.matches(id, message, at: offset + 1..<offset + 65), "a shifted range, offset \(offset)")
            for position in range {
                message[position] ^= 0x80
                #expect(!WireKeyID.matches(id, message, at: range), "byte \(position - offset), offset \(offset)")
                message[position] ^= 0x80
            }
            message[message.count - 1] ^= 0xFF
            if offset > 0 { message[0] ^= 0xFF }
            #expect(WireKeyID.matches(id, message, at: range), "bytes outside the range changed, offset \(offset)")
        }
    }
}
