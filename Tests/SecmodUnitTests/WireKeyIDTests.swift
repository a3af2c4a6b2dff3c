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
}
