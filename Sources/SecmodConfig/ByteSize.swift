import SecmodBase
import SecmodSystem

/// Bytes per unit, the table of GNUnet's `GNUNET_STRINGS_fancy_size_to_bytes`, including
/// its odd decimal units above GB (`TB` = 1000³·1024, `PB` = 1000³·1024·1000,
/// `EB` = 1000³·1024·1000²). They are reproduced rather than corrected so that a value
/// means the same number of bytes to this helper and to the C exchange reading the same
/// file. Unit names are case-insensitive, so `kb`, `KB` and `kB` are all 1000.
private let sizeUnits = UnitConversion([
    ("B", 1),
    ("KiB", 1 << 10), ("kB", 1_000),
    ("MiB", 1 << 20), ("MB", 1_000_000),
    ("GiB", 1 << 30), ("GB", 1_000_000_000),
    ("TiB", 1 << 40), ("TB", 1_000_000_000 * 1_024),
    ("PiB", 1 << 50), ("PB", 1_000_000_000 * 1_024 * 1_000),
    ("EiB", 1 << 60), ("EB", 1_000_000_000 * 1_024 * 1_000_000),
])

/// Parses a GNUnet "fancy size" (`8 MiB`, `4096`, `1 KiB`, `2 MB`, `1 GiB 512 MiB`) into
/// bytes; a bare number is bytes. Same term rules as `parseRelativeTime`.
func parseByteSize(_ text: String) throws(SecmodError) -> UInt64 {
    let expected = "expected a number of bytes, optionally with a unit such as '4096', '1 KiB', '8 MiB' or '2 MB'"
    switch sizeUnits.convert(text) {
    case .success(let value):
        return value
    case .failure(.empty):
        throw SecmodError(.configValue, "empty size; \(expected)")
    case .failure(.unknownUnit(let unit)):
        throw SecmodError(.configValue, "'\(text)' is not a valid size: unknown unit '\(unit)' (known: B, KiB, kB, MiB, MB, GiB, GB, TiB, TB, PiB, PB, EiB, EB); \(expected)")
    case .failure(.expectedNumber(let token)):
        throw SecmodError(.configValue, "'\(text)' is not a valid size: expected a number, found '\(token)'; \(expected)")
    case .failure(.unitWithoutNumber(let unit)):
        throw SecmodError(.configValue, "'\(text)' is not a valid size: unit '\(unit)' is not preceded by a number; \(expected)")
    case .failure(.overflow):
        throw SecmodError(.configValue, "'\(text)' is not a valid size: it does not fit in 64 bits")
    }
}
