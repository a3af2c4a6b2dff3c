internal import CSecmodShim
#if canImport(Glibc)
import Glibc
#endif

/// Calendar dates, through the C library's `strptime` and `mktime`: the helpers' `-t`
/// option reads a date the way GNUnet's `GNUNET_STRINGS_fancy_time_to_absolute` does,
/// in the process's time zone, and `secmod` shows times as UTC ISO 8601.
public enum CalendarTime {
    /// GNUnet's formats, tried in its order (strings.c). `%c` and `%x` are the C locale's,
    /// since the helpers never call `setlocale`.
    static let gnunetFormats = [
        "%a %b %d %H:%M:%S %Y", "%c", "%Ec", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M",
        "%x", "%Ex", "%m/%d/%Y", "%Y-%m-%d", "%Y-%m", "%Y",
    ]

    /// Seconds since the epoch for a local date in one of GNUnet's formats, or nil. The whole
    /// text must match (GNUnet's parser accepts a format only when nothing is left over).
    public static func parseLocal(_ text: String) -> Int64? {
        for format in gnunetFormats {
            var seconds: Int64 = 0
            if secmod_parse_local_time(text, format, &seconds) == 1 { return seconds }
        }
        return nil
    }

    /// `2026-12-05T21:09:42Z` for seconds since the epoch.
    public static func isoUTC(seconds: Int64) -> String {
        var t = tm()
        var s = time_t(seconds)
        guard gmtime_r(&s, &t) != nil else { return "\(seconds)" }
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(t.tm_year + 1900, 4))-\(pad(t.tm_mon + 1, 2))-\(pad(t.tm_mday, 2))T\(pad(t.tm_hour, 2)):\(pad(t.tm_min, 2)):\(pad(t.tm_sec, 2))Z"
    }
}
