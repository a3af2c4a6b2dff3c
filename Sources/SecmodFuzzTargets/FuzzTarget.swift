import SecmodOffline
/// The fuzz targets by name, for `secmod-fuzz` and the crasher tests.
///
/// A target takes any bytes and must not crash on them. Beyond that, each one checks what
/// its decoders promise — above all that whatever decodes re-encodes to the same thing —
/// and stops the process when a promise is broken, so that libFuzzer reports logic errors
/// and not only memory errors.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// Helper socket messages, both directions, and the RSA public-key encoding they carry.
    case wire
    /// The offline signer's JSON documents, with the amounts and base32 inside them.
    case offline
    /// GNUnet configuration text, `@INLINE@` directives, `$`-expansion and typed values.
    case config
    /// RSA private key files: the S-expression reader and the key checks behind it.
    case sexpr
    /// ssh-agent protocol messages a client sends `secmod-agent`, and what they carry.
    case agent

    public func run(_ input: [UInt8]) {
        switch self {
        case .wire: FuzzTargets.wire(input)
        case .offline: FuzzTargets.offline(input)
        case .config: FuzzTargets.config(input)
        case .sexpr: FuzzTargets.sexpr(input)
        case .agent: FuzzTargets.agent(input)
        }
    }

    /// The `-max_len` for libFuzzer: room for the largest realistic input, and no more,
    /// because longer inputs only slow the search down.
    public var maximumInputLength: Int {
        switch self {
        case .wire: 4096  // 50 batch sub-requests, or an AVAIL with a 16 kbit key
        case .offline: 8192  // a future-keys document with a few denominations
        case .config: 4096
        case .sexpr: FuzzTargets.maximumKeyFileSize
        case .agent: 4096  // a few messages: a sign request with a user authentication and an RSA key
        }
    }

    /// One line for `secmod-fuzz --list`.
    public var summary: String {
        switch self {
        case .wire: "helper socket messages (SecmodWire) and RsaPublicKey(encoded:)"
        case .offline: "offline JSON documents, FutureKeys, UploadSignatures, Amount, base32"
        case .config: "configuration parser, @INLINE@ directives, $-expansion, typed values"
        case .sexpr: "RSA private key files (RsaSExpression, RsaKeyFile, key checks)"
        case .agent: "ssh-agent messages (AgentRequest, SSHPublicKey, signed data, session-bind, blinding)"
        }
    }
}

/// One function per target; `FuzzTarget` names them.
public enum FuzzTargets {}
