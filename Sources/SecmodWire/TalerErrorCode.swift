/// The GANA error codes that helpers and their clients use (wire.md §4.7, §5.5, §12).
public enum TalerErrorCode: UInt32, Sendable, CustomStringConvertible {
    case none = 0
    case genericTimeout = 11
    case genericParameterMalformed = 26
    case genericInternalInvariantFailure = 60
    case denominationKeyUnknown = 1005
    case keysMissing = 1007
    case denominationHelperUnavailable = 1700
    case denominationHelperBug = 1701
    case denominationHelperTooEarly = 1702
    case signkeyHelperUnavailable = 1750
    case signkeyHelperBug = 1751

    public var description: String {
        switch self {
        case .none: "no error"
        case .genericTimeout: "GENERIC_TIMEOUT"
        case .genericParameterMalformed: "GENERIC_PARAMETER_MALFORMED"
        case .genericInternalInvariantFailure: "GENERIC_INTERNAL_INVARIANT_FAILURE"
        case .denominationKeyUnknown: "EXCHANGE_GENERIC_DENOMINATION_KEY_UNKNOWN"
        case .keysMissing: "EXCHANGE_GENERIC_KEYS_MISSING"
        case .denominationHelperUnavailable: "EXCHANGE_DENOMINATION_HELPER_UNAVAILABLE"
        case .denominationHelperBug: "EXCHANGE_DENOMINATION_HELPER_BUG"
        case .denominationHelperTooEarly: "EXCHANGE_DENOMINATION_HELPER_TOO_EARLY"
        case .signkeyHelperUnavailable: "EXCHANGE_SIGNKEY_HELPER_UNAVAILABLE"
        case .signkeyHelperBug: "EXCHANGE_SIGNKEY_HELPER_BUG"
        }
    }

    /// "1005 (EXCHANGE_GENERIC_DENOMINATION_KEY_UNKNOWN)", or the bare number if unknown to us.
    public static func describe(_ code: UInt32) -> String {
        if let known = TalerErrorCode(rawValue: code) { return "\(code) (\(known))" }
        return "\(code)"
    }
}
