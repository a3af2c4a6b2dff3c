internal import CPkcs11

/// A `CK_RV` other than `CKR_OK`, named as the standard names it so that an operator can
/// look it up in the token's documentation.
public struct Pkcs11ReturnCode: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt

    public init(_ rawValue: UInt) { self.rawValue = rawValue }

    public var description: String {
        if let name = Self.names[rawValue] { return name }
        return "CKR_0x" + String(rawValue, radix: 16, uppercase: true)
    }

    /// The session or the token is gone: the call may succeed on a new session, after the
    /// token is back (`Pkcs11Token` reconnects).
    public var sessionLost: Bool { Self.lost.contains(rawValue) }

    /// The session is no longer logged in (a token that restarted, another process that
    /// logged out): logging in again may help.
    public var notLoggedIn: Bool { rawValue == UInt(CKR_USER_NOT_LOGGED_IN) }

    /// The object handle is not valid (any more): finding the object again by `CKA_ID` may help.
    public var handleInvalid: Bool {
        rawValue == UInt(CKR_OBJECT_HANDLE_INVALID) || rawValue == UInt(CKR_KEY_HANDLE_INVALID)
    }

    /// The PIN is wrong, locked, expired or malformed.
    public var isPinProblem: Bool {
        [CKR_PIN_INCORRECT, CKR_PIN_INVALID, CKR_PIN_LEN_RANGE, CKR_PIN_LOCKED, CKR_PIN_EXPIRED].contains { UInt($0) == rawValue }
    }

    static let userAlreadyLoggedIn = Pkcs11ReturnCode(UInt(CKR_USER_ALREADY_LOGGED_IN))
    static let cryptokiAlreadyInitialized = Pkcs11ReturnCode(UInt(CKR_CRYPTOKI_ALREADY_INITIALIZED))
    static let bufferTooSmall = Pkcs11ReturnCode(UInt(CKR_BUFFER_TOO_SMALL))

    private static let lost: Set<UInt> = [
        UInt(CKR_SESSION_HANDLE_INVALID), UInt(CKR_SESSION_CLOSED), UInt(CKR_DEVICE_REMOVED),
        UInt(CKR_TOKEN_NOT_PRESENT), UInt(CKR_DEVICE_ERROR), UInt(CKR_TOKEN_NOT_RECOGNIZED),
        UInt(CKR_CRYPTOKI_NOT_INITIALIZED), UInt(CKR_SLOT_ID_INVALID), UInt(CKR_GENERAL_ERROR),
    ]

    private static let names: [UInt: String] = [
        UInt(CKR_CANCEL): "CKR_CANCEL", UInt(CKR_HOST_MEMORY): "CKR_HOST_MEMORY",
        UInt(CKR_SLOT_ID_INVALID): "CKR_SLOT_ID_INVALID", UInt(CKR_GENERAL_ERROR): "CKR_GENERAL_ERROR",
        UInt(CKR_FUNCTION_FAILED): "CKR_FUNCTION_FAILED", UInt(CKR_ARGUMENTS_BAD): "CKR_ARGUMENTS_BAD",
        UInt(CKR_ATTRIBUTE_READ_ONLY): "CKR_ATTRIBUTE_READ_ONLY", UInt(CKR_ATTRIBUTE_SENSITIVE): "CKR_ATTRIBUTE_SENSITIVE",
        UInt(CKR_ATTRIBUTE_TYPE_INVALID): "CKR_ATTRIBUTE_TYPE_INVALID", UInt(CKR_ATTRIBUTE_VALUE_INVALID): "CKR_ATTRIBUTE_VALUE_INVALID",
        UInt(CKR_DATA_INVALID): "CKR_DATA_INVALID", UInt(CKR_DATA_LEN_RANGE): "CKR_DATA_LEN_RANGE",
        UInt(CKR_DEVICE_ERROR): "CKR_DEVICE_ERROR", UInt(CKR_DEVICE_MEMORY): "CKR_DEVICE_MEMORY",
        UInt(CKR_DEVICE_REMOVED): "CKR_DEVICE_REMOVED", UInt(CKR_FUNCTION_CANCELED): "CKR_FUNCTION_CANCELED",
        UInt(CKR_FUNCTION_NOT_SUPPORTED): "CKR_FUNCTION_NOT_SUPPORTED", UInt(CKR_KEY_HANDLE_INVALID): "CKR_KEY_HANDLE_INVALID",
        UInt(CKR_KEY_SIZE_RANGE): "CKR_KEY_SIZE_RANGE", UInt(CKR_KEY_TYPE_INCONSISTENT): "CKR_KEY_TYPE_INCONSISTENT",
        UInt(CKR_KEY_FUNCTION_NOT_PERMITTED): "CKR_KEY_FUNCTION_NOT_PERMITTED",
        UInt(CKR_MECHANISM_INVALID): "CKR_MECHANISM_INVALID", UInt(CKR_MECHANISM_PARAM_INVALID): "CKR_MECHANISM_PARAM_INVALID",
        UInt(CKR_OBJECT_HANDLE_INVALID): "CKR_OBJECT_HANDLE_INVALID", UInt(CKR_OPERATION_ACTIVE): "CKR_OPERATION_ACTIVE",
        UInt(CKR_OPERATION_NOT_INITIALIZED): "CKR_OPERATION_NOT_INITIALIZED", UInt(CKR_PIN_INCORRECT): "CKR_PIN_INCORRECT",
        UInt(CKR_PIN_INVALID): "CKR_PIN_INVALID", UInt(CKR_PIN_LEN_RANGE): "CKR_PIN_LEN_RANGE",
        UInt(CKR_PIN_EXPIRED): "CKR_PIN_EXPIRED", UInt(CKR_PIN_LOCKED): "CKR_PIN_LOCKED",
        UInt(CKR_SESSION_CLOSED): "CKR_SESSION_CLOSED", UInt(CKR_SESSION_COUNT): "CKR_SESSION_COUNT",
        UInt(CKR_SESSION_HANDLE_INVALID): "CKR_SESSION_HANDLE_INVALID", UInt(CKR_SESSION_READ_ONLY): "CKR_SESSION_READ_ONLY",
        UInt(CKR_TEMPLATE_INCOMPLETE): "CKR_TEMPLATE_INCOMPLETE", UInt(CKR_TEMPLATE_INCONSISTENT): "CKR_TEMPLATE_INCONSISTENT",
        UInt(CKR_TOKEN_NOT_PRESENT): "CKR_TOKEN_NOT_PRESENT", UInt(CKR_TOKEN_NOT_RECOGNIZED): "CKR_TOKEN_NOT_RECOGNIZED",
        UInt(CKR_TOKEN_WRITE_PROTECTED): "CKR_TOKEN_WRITE_PROTECTED", UInt(CKR_USER_ALREADY_LOGGED_IN): "CKR_USER_ALREADY_LOGGED_IN",
        UInt(CKR_USER_NOT_LOGGED_IN): "CKR_USER_NOT_LOGGED_IN", UInt(CKR_USER_PIN_NOT_INITIALIZED): "CKR_USER_PIN_NOT_INITIALIZED",
        UInt(CKR_USER_TYPE_INVALID): "CKR_USER_TYPE_INVALID", UInt(CKR_BUFFER_TOO_SMALL): "CKR_BUFFER_TOO_SMALL",
        UInt(CKR_CRYPTOKI_NOT_INITIALIZED): "CKR_CRYPTOKI_NOT_INITIALIZED",
        UInt(CKR_CRYPTOKI_ALREADY_INITIALIZED): "CKR_CRYPTOKI_ALREADY_INITIALIZED",
        UInt(CKR_DOMAIN_PARAMS_INVALID): "CKR_DOMAIN_PARAMS_INVALID", UInt(CKR_CURVE_NOT_SUPPORTED): "CKR_CURVE_NOT_SUPPORTED",
    ]
}
