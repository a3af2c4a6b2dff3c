/// The one error type of swift-secmod.
///
/// Operators read these messages in logs and on the terminal, and scripts match on `code`,
/// so a code never changes meaning once released. The message says what went wrong and,
/// where there is one, the fix; it never contains secret material.
public struct SecmodError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A stable, machine-readable classification.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The configuration file cannot be read or parsed.
        public static let configSyntax = Code("config-syntax")
        /// A required option is missing.
        public static let configMissing = Code("config-missing")
        /// An option has a value of the wrong type or out of range, or is unknown.
        public static let configValue = Code("config-value")
        /// A command-line argument is wrong.
        public static let usage = Code("usage")
        /// A system call failed; `errno` says why.
        public static let system = Code("system")
        /// A file or directory has the wrong owner, type or mode.
        public static let permission = Code("permission")
        /// A key file is unreadable, the wrong size or malformed.
        public static let keyFile = Code("key-file")
        /// A cryptographic operation failed or a signature did not verify.
        public static let crypto = Code("crypto")
        /// A peer sent bytes that are not a valid message.
        public static let malformed = Code("malformed")
        /// The helper answered with a Taler error code (see `talerCode`).
        public static let helperRefused = Code("helper-refused")
        /// The helper cannot be reached, or went away.
        public static let unavailable = Code("unavailable")
        /// A deadline passed.
        public static let timeout = Code("timeout")
        /// Whatever answered is not the helper the client trusts: another uid than the
        /// socket file's owner, another security module key, or a signature under a key the
        /// helper never announced (or that does not verify).
        public static let untrustedHelper = Code("untrusted-helper")
        /// A PKCS#11 token or its library failed or lacks what the helper needs; the message
        /// names the token, the call and its CKR_ value.
        public static let token = Code("token")
        /// An ssh-agent answered FAILURE: the key is not offered to this caller, its purposes
        /// do not cover the request, or the agent is locked (the agent's log says which).
        public static let agentRefused = Code("agent-refused")
        /// Another helper already serves this socket.
        public static let alreadyRunning = Code("already-running")
    }

    public let code: Code
    public let message: String
    /// The errno of the failed system call, for `.system` and some `.permission` errors.
    public let errno: Int32?
    /// The Taler error code a helper answered with, for `.helperRefused`.
    public let talerCode: UInt32?

    public init(_ code: Code, _ message: String, errno: Int32? = nil, talerCode: UInt32? = nil) {
        self.code = code
        self.message = message
        self.errno = errno
        self.talerCode = talerCode
    }

    public var description: String { message }

    /// Errors are compared by what a program may match on: the code and the errno or Taler
    /// code it carries. The message is for people and may be reworded.
    public static func == (a: SecmodError, b: SecmodError) -> Bool {
        a.code == b.code && a.errno == b.errno && a.talerCode == b.talerCode
    }
}
