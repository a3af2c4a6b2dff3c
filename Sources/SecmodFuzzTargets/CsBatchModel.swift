import SecmodWire

/// A second reading of Clause-Schnorr BATCH_SIGN and BATCH_RDERIVE, written from the rule in
/// wire.md §6.2 rather than from `CsBatchRequest.layout`: the two must agree on every input.
/// The helper reads each item's fields in place at the offsets `layout` vouches for, so a
/// disagreement would be a wrong answer, or a read outside the message.
enum CsBatchModel {
    /// How many items get an answer and whether the batch broke after them; nil when the
    /// header is refused as a whole.
    static func expect(_ m: [UInt8], sign: Bool) -> (items: Int, brokePartWay: Bool)? {
        guard m.count > 8 else { return nil }
        let count = WireChecks.bigEndian(m[4..<8])
        guard count >= 1, count <= 256 else { return nil }
        let size = sign ? 168 : 104
        let type = sign ? 5 : 8
        var offset = 8
        for item in 0..<count {
            // A whole item: its own header says its size and type, and it fits.
            guard m.count - offset >= size, WireChecks.bigEndian(m[offset..<offset + 2]) == size,
                  WireChecks.bigEndian(m[offset + 2..<offset + 4]) == type else {
                return (item, true)
            }
            offset += size
        }
        return (count, offset != m.count)
    }

    static func compare(_ m: [UInt8], sign: Bool) {
        let name = sign ? "BATCH_SIGN" : "BATCH_RDERIVE"
        let expected = expect(m, sign: sign)
        guard let layout = try? CsBatchRequest.layout(m, sign: sign) else {
            invariant(expected == nil, "CS \(name) header refused, but the spec accepts it")
            return
        }
        guard let expected else { invariant(false, "CS \(name) header accepted, but the spec refuses it"); return }
        invariant(layout.items == expected.items && layout.brokePartWay == expected.brokePartWay,
                  "CS \(name) layout \(layout), the spec says \(expected)")
        // The fields the helper reads in place are those a parse of the item copies out.
        let size = sign ? CsRequest.signByteCount : CsRequest.deriveByteCount
        for i in 0..<layout.items {
            let at = CsRequest.Fields(sign: sign, offset: 8 + i * size)
            invariant(at.nonce.upperBound <= m.count && at.hash.upperBound <= m.count, "CS \(name) item \(i) lies outside the message")
            guard let parsed = try? CsRequest.parse(m, range: at.offset..<at.offset + size, sign: sign) else {
                invariant(false, "CS \(name) item \(i) vouched for by the layout does not parse")
                return
            }
            invariant(parsed.hash[...] == m[at.hash] && parsed.nonce[...] == m[at.nonce] && parsed.forMelt == at.forMelt(m)
                      && parsed.challenges[...] == (sign ? m[at.challenges] : []), "CS \(name) item \(i) read in place differs")
        }
    }
}
