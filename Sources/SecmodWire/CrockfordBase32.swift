import SecmodBase
import SecmodSystem

/// GNUnet's base32 (`GNUNET_STRINGS_data_to_string`): Crockford's alphabet, 5 bits at a
/// time from the most significant end, the last group padded with zero bits. Taler shows
/// every key and signature this way, so operators can compare ours with theirs.
public enum CrockfordBase32 {
    private static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)

    public static func encode(_ data: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((data.count * 8 + 4) / 5)
        var buffer: UInt32 = 0
        var bits = 0
        for byte in data {
            buffer = (buffer << 8) | UInt32(byte)
            bits += 8
            while bits >= 5 {
                bits -= 5
                out.append(alphabet[Int((buffer >> UInt32(bits)) & 31)])
            }
        }
        if bits > 0 { out.append(alphabet[Int((buffer << UInt32(5 - bits)) & 31)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes exactly `byteCount` bytes (GNUnet decodes into a fixed-size buffer). Accepts
    /// lower case and the Crockford aliases O→0, I/L→1, U→V; rejects anything else.
    public static func decode(_ text: String, byteCount: Int) throws(SecmodError) -> [UInt8] {
        let expected = (byteCount * 8 + 4) / 5
        let chars = Array(text.utf8)
        guard chars.count == expected else {
            throw SecmodError(.malformed, "base32 value has \(chars.count) characters; \(byteCount) bytes need \(expected)")
        }
        var out: [UInt8] = []
        out.reserveCapacity(byteCount)
        var buffer: UInt32 = 0
        var bits = 0
        for c in chars {
            guard let v = value(of: c) else {
                throw SecmodError(.malformed, "'\(Character(UnicodeScalar(c)))' is not a base32 character")
            }
            buffer = (buffer << 5) | v
            bits += 5
            if bits >= 8 {
                bits -= 8
                out.append(UInt8((buffer >> UInt32(bits)) & 0xff))
            }
        }
        guard out.count == byteCount, buffer & ((1 << UInt32(bits)) - 1) == 0 else {
            throw SecmodError(.malformed, "base32 value does not decode to exactly \(byteCount) bytes")
        }
        return out
    }

    /// Decodes a value of any length (for variable-length data such as RSA keys).
    public static func decode(_ text: String) throws(SecmodError) -> [UInt8] {
        try decode(text, byteCount: text.utf8.count * 5 / 8)
    }

    private static func value(of c: UInt8) -> UInt32? {
        var c = c
        if c >= 0x61 && c <= 0x7a { c -= 0x20 }  // upper-case
        switch c {
        case UInt8(ascii: "O"): c = UInt8(ascii: "0")
        case UInt8(ascii: "I"), UInt8(ascii: "L"): c = UInt8(ascii: "1")
        case UInt8(ascii: "U"): c = UInt8(ascii: "V")
        default: break
        }
        guard let i = alphabet.firstIndex(of: c) else { return nil }
        return UInt32(i)
    }
}
