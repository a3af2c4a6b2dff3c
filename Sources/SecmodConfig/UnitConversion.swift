/// Parses "number unit number unit …" sums, the engine behind GNUnet's fancy time and
/// fancy size (`convert_with_table` in `strings.c`).
///
/// Kept from GNUnet: terms are separated by spaces, a unit may follow its number with or
/// without a space (`5m`, `5 m`), unit names are case-insensitive, a bare number means the
/// base unit (µs or bytes), and all terms are summed (`1 h 30 m`). A number glued to a
/// unit must be the whole rest of the token, so `1h30m` is rejected as in GNUnet.
///
/// Stricter than GNUnet, because each of these is a typo GNUnet silently turns into a
/// different duration: an empty text (GNUnet: 0), a unit without a number (`m` → 0,
/// `5 m m` → 5 m × 60 000 000), a sign (`-1` wraps to 2⁶⁴−1 through `strtoull`) and any
/// overflow of the products or the sum (GNUnet wraps around).
struct UnitConversion {
    enum Failure: Error, Equatable {
        case empty
        case expectedNumber(String)
        case unknownUnit(String)
        case unitWithoutNumber(String)
        case overflow
    }

    /// Unit names keyed by their ASCII-lowercased spelling.
    let units: [String: UInt64]

    init(_ table: [(String, UInt64)]) {
        var units: [String: UInt64] = [:]
        for (name, factor) in table { units[name.asciiLowercased] = factor }
        self.units = units
    }

    func convert(_ text: String) -> Result<UInt64, Failure> {
        let tokens = text.split(separator: " ", omittingEmptySubsequences: true)
        if tokens.isEmpty { return .failure(.empty) }
        var total: UInt64 = 0
        var pending: UInt64?
        var pendingHasUnit = false
        for token in tokens {
            var rest = Substring(token)
            while !rest.isEmpty {
                if let factor = units[String(rest).asciiLowercased] {
                    guard let number = pending, !pendingHasUnit else {
                        return .failure(.unitWithoutNumber(String(rest)))
                    }
                    let (scaled, overflow) = number.multipliedReportingOverflow(by: factor)
                    if overflow { return .failure(.overflow) }
                    pending = scaled
                    pendingHasUnit = true
                    break
                }
                let digits = rest.prefix { $0.isASCII && $0.isNumber }
                if digits.isEmpty {
                    return .failure(pending == nil || pendingHasUnit
                        ? .expectedNumber(String(rest)) : .unknownUnit(String(rest)))
                }
                guard let number = UInt64(digits) else { return .failure(.overflow) }
                if let previous = pending {
                    let (sum, overflow) = total.addingReportingOverflow(previous)
                    if overflow { return .failure(.overflow) }
                    total = sum
                }
                pending = number
                pendingHasUnit = false
                rest = rest.dropFirst(digits.count)
            }
        }
        if let previous = pending {
            let (sum, overflow) = total.addingReportingOverflow(previous)
            if overflow { return .failure(.overflow) }
            total = sum
        }
        return .success(total)
    }
}
