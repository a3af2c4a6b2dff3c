/// RSA values travel as unsigned big-endian byte strings (wire.md §3.4, §3.6): on the wire a client
/// may pad them with zeros, while GNUnet's own encodings are minimal. These helpers keep
/// that normalisation in one place so every comparison sees the same form.
enum RsaBigEndian {
    /// Drops leading zero bytes; an all-zero or empty input becomes empty (the value 0).
    static func minimal(_ bytes: [UInt8]) -> ArraySlice<UInt8> {
        let first = bytes.firstIndex { $0 != 0 } ?? bytes.endIndex
        return bytes[first...]
    }

    /// Compares two minimal encodings as integers: negative, zero or positive.
    static func compare(_ a: ArraySlice<UInt8>, _ b: ArraySlice<UInt8>) -> Int {
        if a.count != b.count { return a.count < b.count ? -1 : 1 }
        for (x, y) in zip(a, b) where x != y { return x < y ? -1 : 1 }
        return 0
    }

    /// The bit length of a minimal encoding.
    static func bitCount(_ minimal: ArraySlice<UInt8>) -> Int {
        guard let top = minimal.first else { return 0 }
        return (minimal.count - 1) * 8 + (8 - top.leadingZeroBitCount)
    }
}
