import SecmodBase
import SecmodSystem
import SecmodWire

/// A Taler amount (`struct TALER_Amount`): a currency, a whole value and a fraction in units
/// of 10⁻⁸ (offline-documents.md §2.1, §7.3).
///
/// The currency is kept upper-cased, as taler-exchange 0.9.2 stores it after parsing
/// (`TALER_string_to_amount` applies `toupper`), so the text form and the 24-byte network
/// form are the ones the exchange computes from its own configuration.
public struct Amount: Hashable, Sendable, CustomStringConvertible {
    /// `TALER_AMOUNT_FRAC_BASE`: the fraction counts hundred-millionths.
    public static let fractionBase: UInt32 = 100_000_000
    /// `TALER_AMOUNT_MAX_VALUE`: 2⁵², so that amounts survive a trip through a double.
    public static let maximumValue: UInt64 = 1 << 52
    /// `TALER_CURRENCY_LEN`: 12 bytes including the NUL, so at most 11 characters.
    public static let maximumCurrencyLength = 11
    /// The size of `TALER_AmountNBO`.
    public static let networkByteCount = 24

    public let currency: String
    public let value: UInt64
    public let fraction: UInt32

    /// Checks the ranges Taler enforces; the currency must be 1 to 11 ASCII letters.
    public init(currency: String, value: UInt64, fraction: UInt32) throws(SecmodError) {
        try Amount.checkCurrency(currency)
        guard value <= Amount.maximumValue else {
            throw SecmodError(.malformed, "amount value \(value) is larger than the maximum 2^52 = \(Amount.maximumValue)")
        }
        guard fraction < Amount.fractionBase else {
            throw SecmodError(.malformed, "amount fraction \(fraction) is not below \(Amount.fractionBase)")
        }
        self.currency = currency.asciiUppercased
        self.value = value
        self.fraction = fraction
    }

    /// Parses `CURRENCY:VALUE` or `CURRENCY:VALUE.FRACTION` with Taler's rules
    /// (`TALER_string_to_amount`): a value of at most 2⁵², at most 8 fraction digits, no
    /// sign, no exponent, and not ending in a bare `.`.
    public init(parsing text: String) throws(SecmodError) {
        let expected = "expected CURRENCY:VALUE or CURRENCY:VALUE.FRACTION such as 'KUDOS:5' or 'KUDOS:0.01'"
        func fail(_ why: String) -> SecmodError {
            SecmodError(.malformed, "'\(text)' is not an amount: \(why); \(expected)")
        }
        let bytes = Array(text.utf8)
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")) else { throw fail("there is no ':' after the currency") }
        let currency = String(decoding: bytes[..<colon], as: UTF8.self)
        do throws(SecmodError) { try Amount.checkCurrency(currency) } catch { throw fail(error.message) }
        let number = bytes[(colon + 1)...]
        guard !number.isEmpty else { throw fail("the value after ':' is missing") }
        var value: UInt64 = 0
        var index = number.startIndex
        while index < number.endIndex, number[index] != UInt8(ascii: ".") {
            let c = number[index]
            guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else {
                throw fail("'\(Character(Unicode.Scalar(c)))' is not a digit")
            }
            value = value &* 10 &+ UInt64(c - UInt8(ascii: "0"))
            guard value <= Amount.maximumValue else { throw fail("the value is larger than the maximum 2^52 = \(Amount.maximumValue)") }
            index += 1
        }
        var fraction: UInt32 = 0
        if index < number.endIndex {
            index += 1  // the '.'
            guard index < number.endIndex else { throw fail("it ends after the '.'") }
            var unit = Amount.fractionBase / 10
            while index < number.endIndex {
                let c = number[index]
                guard unit > 0 else { throw fail("it has more than 8 fraction digits") }
                guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else {
                    throw fail("'\(Character(Unicode.Scalar(c)))' in the fraction is not a digit")
                }
                fraction += UInt32(c - UInt8(ascii: "0")) * unit
                unit /= 10
                index += 1
            }
        }
        try self.init(currency: currency, value: value, fraction: fraction)
    }

    /// Checks a currency name: 1 to 11 ASCII letters, as `[taler] CURRENCY` must be.
    public static func checkCurrency(_ currency: String) throws(SecmodError) {
        let bytes = Array(currency.utf8)
        guard !bytes.isEmpty else { throw SecmodError(.malformed, "the currency is empty") }
        guard bytes.count <= maximumCurrencyLength else {
            throw SecmodError(.malformed, "the currency '\(currency)' has \(bytes.count) characters; at most \(maximumCurrencyLength) are allowed")
        }
        guard bytes.allSatisfy({ ($0 >= 0x41 && $0 <= 0x5a) || ($0 >= 0x61 && $0 <= 0x7a) }) else {
            throw SecmodError(.malformed, "the currency '\(currency)' may only contain the letters A-Z")
        }
    }

    /// Whether this amount is in `currency`, compared case-insensitively as Taler does.
    public func isIn(currency other: String) -> Bool { currency == other.asciiUppercased }

    /// `TALER_amount_to_string`: the fraction with 1 to 8 digits and no trailing zeros.
    public var description: String {
        guard fraction != 0 else { return "\(currency):\(value)" }
        var digits = String(fraction)
        digits = String(repeating: "0", count: 8 - digits.count) + digits
        while digits.last == "0" { digits.removeLast() }
        return "\(currency):\(value).\(digits)"
    }

    /// `TALER_AmountNBO` (offline-documents.md §7.3), 24 bytes: value u64 BE, fraction u32 BE, currency NUL-padded to 12.
    public var networkBytes: [UInt8] {
        var w = ByteWriter(capacity: Amount.networkByteCount)
        w.u64(value)
        w.u32(fraction)
        let name = Array(currency.utf8)
        w.append(name)
        w.append([UInt8](repeating: 0, count: 12 - name.count))
        return w.bytes
    }
}

