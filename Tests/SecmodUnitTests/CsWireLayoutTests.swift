import SecmodWire
import Testing

/// The Clause-Schnorr requests as the helper reads them in place (`CsRequest.Fields`,
/// `CsBatchRequest.layout`) and as the client writes them (`CsRequest.write`), against
/// messages laid out by hand from wire.md §6.2.
@Suite struct CsWireLayoutTests {
    static let hash = (0..<64).map { UInt8($0) }
    static let challenges = (0..<64).map { UInt8(0x40 + $0) }
    static let nonce = (0..<32).map { UInt8(0xC0 + $0) }

    /// SIGN (168 bytes) or RDERIVE (104): size, type, for_melt, h_cs, [c₀ c₁,] nonce.
    static func byHand(sign: Bool, forMelt: UInt32) -> [UInt8] {
        let size: UInt16 = sign ? 168 : 104
        let type: UInt16 = sign ? 5 : 8
        var m = [UInt8(size >> 8), UInt8(size & 0xff), UInt8(type >> 8), UInt8(type & 0xff)]
        m += [UInt8(forMelt >> 24), UInt8((forMelt >> 16) & 0xff), UInt8((forMelt >> 8) & 0xff), UInt8(forMelt & 0xff)]
        return m + hash + (sign ? challenges : []) + nonce
    }

    static func batch(sign: Bool, items: [[UInt8]], batchSize: Int? = nil) -> [UInt8] {
        let body = items.flatMap { $0 }
        let size = 8 + body.count
        let type: UInt16 = sign ? 4 : 7
        let n = UInt32(batchSize ?? items.count)
        return [UInt8(size >> 8), UInt8(size & 0xff), UInt8(type >> 8), UInt8(type & 0xff),
                UInt8(n >> 24), UInt8((n >> 16) & 0xff), UInt8((n >> 8) & 0xff), UInt8(n & 0xff)] + body
    }

    @Test(arguments: [true, false])
    func writeLaysARequestOutAsTheSpecSays(sign: Bool) {
        for forMelt in [false, true] {
            var w = ByteWriter()
            CsRequest.write(into: &w, forMelt: forMelt, hash: Self.hash, challenges: sign ? Self.challenges : [], nonce: Self.nonce)
            #expect(w.bytes == Self.byHand(sign: sign, forMelt: forMelt ? 1 : 0))
        }
    }

    @Test(arguments: [true, false])
    func fieldsReadARequestWhereItLies(sign: Bool) {
        let item = Self.byHand(sign: sign, forMelt: 0)
        let message = Self.batch(sign: sign, items: [item, item])
        let size = item.count
        for index in 0..<2 {
            let at = CsRequest.Fields(sign: sign, offset: 8 + index * size)
            #expect(Array(message[at.hash]) == Self.hash)
            #expect(Array(message[at.nonce]) == Self.nonce)
            if sign { #expect(Array(message[at.challenges]) == Self.challenges) }
            #expect(!at.forMelt(message))
        }
        // for_melt is any non-zero value, whichever of its four bytes holds it.
        for byte in 0..<4 {
            let value = UInt32(1) << UInt32(8 * (3 - byte))
            #expect(CsRequest.Fields(sign: sign, offset: 0).forMelt(Self.byHand(sign: sign, forMelt: value)), "byte \(byte)")
        }
    }

    @Test(arguments: [true, false])
    func layoutCountsWholeItemsAndSaysWhereABatchBroke(sign: Bool) throws {
        let item = Self.byHand(sign: sign, forMelt: 0)
        let other = Self.byHand(sign: !sign, forMelt: 0)
        // Whole.
        var layout = try CsBatchRequest.layout(Self.batch(sign: sign, items: [item, item, item]), sign: sign)
        #expect(layout.items == 3 && !layout.brokePartWay)
        // An item of the other type breaks the batch where it stands.
        layout = try CsBatchRequest.layout(Self.batch(sign: sign, items: [item, other, item]), sign: sign)
        #expect(layout.items == 1 && layout.brokePartWay)
        // A last item cut short.
        layout = try CsBatchRequest.layout(Self.batch(sign: sign, items: [item, Array(item.dropLast())]), sign: sign)
        #expect(layout.items == 1 && layout.brokePartWay)
        // Fewer items than batch_size, and bytes after batch_size items.
        layout = try CsBatchRequest.layout(Self.batch(sign: sign, items: [item, item], batchSize: 3), sign: sign)
        #expect(layout.items == 2 && layout.brokePartWay)
        layout = try CsBatchRequest.layout(Self.batch(sign: sign, items: [item, item, [0]], batchSize: 2), sign: sign)
        #expect(layout.items == 2 && layout.brokePartWay)
        // A bad header is refused outright: no item, batch_size 0 or over 256.
        #expect(throws: (any Error).self) { try CsBatchRequest.layout(Self.batch(sign: sign, items: []), sign: sign) }
        #expect(throws: (any Error).self) { try CsBatchRequest.layout(Self.batch(sign: sign, items: [item], batchSize: 0), sign: sign) }
        #expect(throws: (any Error).self) { try CsBatchRequest.layout(Self.batch(sign: sign, items: [item], batchSize: 257), sign: sign) }
    }

    /// The client's batch is the hand-made one, and `walk` (the fuzzers' and tests' parser)
    /// reads back what was written.
    @Test(arguments: [true, false])
    func aBatchWrittenByTheClientWalksBack(sign: Bool) throws {
        let message = CsBatchRequest.encode(count: 3, sign: sign) { w, i in
            CsRequest.write(into: &w, forMelt: i == 1, hash: Self.hash, challenges: sign ? Self.challenges : [], nonce: Self.nonce)
        }
        #expect(message == Self.batch(sign: sign, items: [Self.byHand(sign: sign, forMelt: 0), Self.byHand(sign: sign, forMelt: 1),
                                                          Self.byHand(sign: sign, forMelt: 0)]))
        let walk = try CsBatchRequest.walk(message, sign: sign)
        #expect(!walk.brokePartWay && walk.requests.map(\.forMelt) == [false, true, false])
        #expect(walk.requests.allSatisfy { $0.hash == Self.hash && $0.nonce == Self.nonce && $0.challenges == (sign ? Self.challenges : []) })
    }
}
