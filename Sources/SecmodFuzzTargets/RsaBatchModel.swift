import SecmodWire

/// A second reading of BATCH_SIGN, written from the rule in the wire spec rather than from
/// `RsaBatchSignRequest.walk`: the two must agree on every input. The batch walk decides
/// which requests get signatures and which get failure codes, so a disagreement is a
/// protocol bug even when nothing crashes.
enum RsaBatchModel {
    /// nil: the header is refused as a whole (one SIGN_FAILURE, no walk).
    struct Expectation {
        var messages: [Range<Int>] = []
        var brokePartWay = false
    }

    static func expect(_ m: [UInt8]) -> Expectation? {
        guard m.count > 8 else { return nil }
        let count = WireChecks.bigEndian(m[4..<8])
        guard (1...RsaBatchSignRequest.maximumBatchSize).contains(count) else { return nil }
        var expectation = Expectation()
        var offset = 8
        for _ in 0..<count {
            guard m.count - offset >= 4 else { expectation.brokePartWay = true; return expectation }
            let size = WireChecks.bigEndian(m[offset..<offset + 2])
            guard size >= RsaSignRequest.headerByteCount, size <= m.count - offset else {
                expectation.brokePartWay = true
                return expectation
            }
            expectation.messages.append(offset + RsaSignRequest.headerByteCount ..< offset + size)
            offset += size
        }
        expectation.brokePartWay = offset != m.count
        return expectation
    }

    static func compare(_ m: [UInt8]) {
        let expected = expect(m)
        guard let walk = try? RsaBatchSignRequest.walk(m) else {
            invariant(expected == nil, "BATCH_SIGN header refused, but the spec accepts it")
            return
        }
        guard let expected else { invariant(false, "BATCH_SIGN header accepted, but the spec refuses it"); return }
        invariant(walk.brokePartWay == expected.brokePartWay,
                  "BATCH_SIGN brokePartWay is \(walk.brokePartWay), the spec says \(expected.brokePartWay)")
        invariant(walk.requests.count == expected.messages.count,
                  "BATCH_SIGN walked \(walk.requests.count) requests, the spec \(expected.messages.count)")
        for (request, message) in zip(walk.requests, expected.messages) {
            if let request {
                invariant(request.message == message && !message.isEmpty, "BATCH_SIGN sub-request at \(message)")
                invariant(request.hash[...] == m[message.lowerBound - 64 ..< message.lowerBound], "BATCH_SIGN hash")
            } else {
                invariant(message.isEmpty, "BATCH_SIGN dropped a sub-request with a payload at \(message)")
            }
        }
    }
}
