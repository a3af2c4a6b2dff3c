import SecmodBase
import SecmodConfig
import SecmodSystem
import Testing

@Suite("GNUnet fancy time")
struct ConfigTimeTests {
    static let second: UInt64 = 1_000_000
    static let minute: UInt64 = 60 * second
    static let hour: UInt64 = 60 * minute
    static let day: UInt64 = 24 * hour

    @Test(arguments: [
        ("1 minute", minute),
        ("5 m", 5 * minute),
        ("5m", 5 * minute),
        ("5 M", 5 * minute),
        ("5 minutes", 5 * minute),
        ("2 min", 2 * minute),
        ("12 weeks", 12 * 7 * day),
        ("1 Week", 7 * day),
        ("1 year", 365 * day),
        ("2 years", 730 * day),
        ("1 a", 365 * day),
        ("1 h 30 m", hour + 30 * minute),
        ("1h 30m", hour + 30 * minute),
        ("3 hours", 3 * hour),
        ("1 d", day),
        ("2 days", 2 * day),
        ("250 ms", 250_000),
        ("7 us", 7),
        ("10s", 10 * second),
        ("1 second", second),
        ("1 s 1 s 1 s", 3 * second),
        ("42", 42),
        ("  5 m  ", 5 * minute),
        ("0 s", 0),
        ("forever", UInt64.max),
        ("FOREVER", UInt64.max),
    ] as [(String, UInt64)])
    func parses(text: String, expected: UInt64) throws {
        #expect(try parseRelativeTime(text) == RelativeTime(microseconds: expected))
    }

    @Test(arguments: [
        ("month", "expected a number"),
        ("1 month", "unknown unit 'month'"),
        ("5 parsecs", "unknown unit 'parsecs'"),
        ("", "empty"),
        ("   ", "empty"),
        ("1h30m", "unknown unit"),
        ("m", "not preceded by a number"),
        ("5 m m", "not preceded by a number"),
        ("-1 s", "expected a number"),
        ("forever 1 s", "expected a number"),
        ("18446744073709551616", "overflow"),
        ("1000000 years", "overflow"),
        ("500000 years 500000 years", "overflow"),
    ])
    func rejects(text: String, fragment: String) {
        let error = configError { () throws(SecmodError) in _ = try parseRelativeTime(text) }
        #expect(error?.code == .configValue)
        #expect(error?.message.contains(fragment) == true, "\(String(describing: error))")
    }

    @Test(arguments: [
        (UInt64.max, "forever"),
        (0, "0 ms"),
        (365 * day, "1 year"),
        (730 * day, "2 years"),
        (12 * 7 * day, "12 weeks"),
        (7 * day, "1 week"),
        (day, "1 day"),
        (3 * day, "3 days"),
        (5 * minute, "5 m"),
        (hour + 30 * minute, "90 m"),
        (90 * second, "90 s"),
        (250_000, "250 ms"),
        (7, "7 us"),
        (1_000_001, "1000001 us"),
    ] as [(UInt64, String)])
    func formats(microseconds: UInt64, expected: String) throws {
        #expect(formatRelativeTime(RelativeTime(microseconds: microseconds)) == expected)
        #expect(try parseRelativeTime(expected) == RelativeTime(microseconds: microseconds))
    }
}
