/// `GNUNET_TIME_TimestampNBO`: microseconds since the epoch, always a whole number of
/// seconds on the helper wire (wire.md §3.1).
public struct Timestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    public static let forever = Timestamp(microseconds: UInt64.max)
    public let microseconds: UInt64

    public init(microseconds: UInt64) { self.microseconds = microseconds }
    public init(seconds: UInt64) { microseconds = seconds.multipliedReportingOverflow(by: 1_000_000).overflow ? .max : seconds * 1_000_000 }

    /// Rounds down to whole seconds, as `GNUNET_TIME_absolute_to_timestamp` does.
    public static func roundingDown(microseconds: UInt64) -> Timestamp {
        microseconds == .max ? .forever : Timestamp(microseconds: microseconds - microseconds % 1_000_000)
    }

    public var seconds: UInt64 { microseconds / 1_000_000 }
    public var isWholeSeconds: Bool { microseconds % 1_000_000 == 0 }

    /// Saturating addition, as GNUnet's: anything past the end of time is FOREVER.
    public func adding(_ d: RelativeTime) -> Timestamp {
        let (sum, overflow) = microseconds.addingReportingOverflow(d.microseconds)
        return overflow || d == .forever || self == .forever ? .forever : Timestamp(microseconds: sum)
    }

    /// Saturating subtraction: never before the epoch.
    public func subtracting(_ d: RelativeTime) -> Timestamp {
        if self == .forever { return .forever }
        return Timestamp(microseconds: microseconds >= d.microseconds ? microseconds - d.microseconds : 0)
    }

    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.microseconds < b.microseconds }
    public var description: String { self == .forever ? "forever" : "\(seconds)s" }
}

/// `GNUNET_TIME_RelativeNBO`: a duration in microseconds.
public struct RelativeTime: Hashable, Comparable, Sendable {
    public static let forever = RelativeTime(microseconds: UInt64.max)
    public static let zero = RelativeTime(microseconds: 0)
    public let microseconds: UInt64

    public init(microseconds: UInt64) { self.microseconds = microseconds }
    public init(seconds: UInt64) { microseconds = seconds * 1_000_000 }

    public static func < (a: RelativeTime, b: RelativeTime) -> Bool { a.microseconds < b.microseconds }

    public func subtracting(_ other: RelativeTime) -> RelativeTime {
        RelativeTime(microseconds: microseconds >= other.microseconds ? microseconds - other.microseconds : 0)
    }
}
