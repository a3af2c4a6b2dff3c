import SecmodBase
import SecmodSystem

/// Microseconds per unit, the table of GNUnet's `GNUNET_STRINGS_fancy_time_to_relative`.
/// A year is 365 days (the key-lookahead defaults depend on it); there is deliberately no
/// month, whose length would be ambiguous.
private let timeUnits = UnitConversion([
    ("us", 1),
    ("ms", 1_000),
    ("s", 1_000_000), ("second", 1_000_000), ("seconds", 1_000_000), ("\"", 1_000_000),
    ("m", 60_000_000), ("min", 60_000_000), ("minute", 60_000_000), ("minutes", 60_000_000), ("'", 60_000_000),
    ("h", 3_600_000_000), ("hour", 3_600_000_000), ("hours", 3_600_000_000),
    ("d", 86_400_000_000), ("day", 86_400_000_000), ("days", 86_400_000_000),
    ("week", 604_800_000_000), ("weeks", 604_800_000_000),
    ("year", 31_536_000_000_000), ("years", 31_536_000_000_000), ("a", 31_536_000_000_000),
])

/// GNUnet "fancy time": `us`, `ms`, `s`, `m`/`min`/`minute(s)`, `h`/`hour(s)`, `d`/`day(s)`, `week(s)`, `a`/`year(s)` (= 365 days), combinations such as `1 h 30 m` or `5m`, and `forever`. `month` is rejected.
///
/// `forever` (any case) is `RelativeTime.forever` (2⁶⁴−1 µs), GNUnet's `GNUNET_TIME_UNIT_FOREVER_REL`. A bare
/// number is microseconds, as in GNUnet. The message of a thrown `.configValue` error
/// says what is wrong and what is expected; callers add the file, line and option.
public func parseRelativeTime(_ text: String) throws(SecmodError) -> RelativeTime {
    let trimmed = String(Substring(ConfigurationParser.trimmed(Substring(text).unicodeScalars)))
    if trimmed.asciiLowercased == "forever" { return .forever }
    let expected = "expected a number and unit such as '250 ms', '5 m', '1 h 30 m', '12 weeks', '1 year', or 'forever'"
    switch timeUnits.convert(trimmed) {
    case .success(let value):
        return RelativeTime(microseconds: value)
    case .failure(.empty):
        throw SecmodError(.configValue, "empty relative time; \(expected)")
    case .failure(.unknownUnit(let unit)):
        throw SecmodError(.configValue, "'\(text)' is not a valid relative time: unknown unit '\(unit)' (known: us, ms, s, m/min/minute(s), h/hour(s), d/day(s), week(s), a/year(s)); \(expected)")
    case .failure(.expectedNumber(let token)):
        throw SecmodError(.configValue, "'\(text)' is not a valid relative time: expected a number, found '\(token)'; \(expected)")
    case .failure(.unitWithoutNumber(let unit)):
        throw SecmodError(.configValue, "'\(text)' is not a valid relative time: unit '\(unit)' is not preceded by a number; \(expected)")
    case .failure(.overflow):
        throw SecmodError(.configValue, "'\(text)' is not a valid relative time: it overflows 64-bit microseconds; use 'forever' for an unlimited duration")
    }
}

/// Formats a relative time back to the shortest exact GNUnet form ("5 m", "12 weeks"?, "1 a"...) for logs and `secmod` output.
///
/// The largest unit that divides the value exactly is used, so the text is exact and
/// `parseRelativeTime` reads it back to the same number: `"forever"`, `"1 year"`,
/// `"12 weeks"`, `"1 day"`, `"5 m"`, `"90 s"`, `"250 ms"`, `"7 us"`. Zero is `"0 ms"` like
/// GNUnet's `GNUNET_STRINGS_relative_time_to_string`. Years, weeks and days are spelled
/// out (the form the shipped defaults use); shorter units use GNUnet's abbreviations, but
/// `us` rather than GNUnet's `µs`, which its own parser does not accept.
public func formatRelativeTime(_ time: RelativeTime) -> String {
    let microseconds = time.microseconds
    if time == .forever { return "forever" }
    if microseconds == 0 { return "0 ms" }
    let units: [(UInt64, String, String)] = [
        (31_536_000_000_000, "year", "years"),
        (604_800_000_000, "week", "weeks"),
        (86_400_000_000, "day", "days"),
        (3_600_000_000, "h", "h"),
        (60_000_000, "m", "m"),
        (1_000_000, "s", "s"),
        (1_000, "ms", "ms"),
    ]
    for (factor, singular, plural) in units where microseconds % factor == 0 {
        let count = microseconds / factor
        return "\(count) \(count == 1 ? singular : plural)"
    }
    return "\(microseconds) us"
}
