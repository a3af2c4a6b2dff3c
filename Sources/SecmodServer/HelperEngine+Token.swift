import Logging
import SecmodBase
import SecmodCrypto
import SecmodKeys
import SecmodPkcs11
import SecmodSystem
#if canImport(Glibc)
import Glibc
#endif

/// The PKCS#11 token of a helper whose keys live in one (`KEY_STORE = pkcs11`), or that
/// still serves keys from one.
extension HelperEngine {
    static func connectToken(family: Family, settings: HelperSettings, logger: Logger) throws(SecmodError) -> Pkcs11Token? {
        let token = try HelperToken.connect(family: family, settings: settings) { up, message in
            if up { logger.notice("\(message)") } else { logger.warning("\(message)") }
        }
        if let token, let configuration = settings.pkcs11 {
            let description = try token.module.token(labelled: configuration.token)
            logger.notice("PKCS#11 token '\(description.label)' (\(description.manufacturer) \(description.model), serial \(description.serialNumber)) through \(configuration.module); new keys are made in \(settings.keyStore == .pkcs11 ? "the token" : "files")")
        }
        return token
    }
}

/// A helper's token, for the helper and for `secmod keys import`.
public enum HelperToken {
    /// Loads the token's library, finds the token by label and logs in, then checks that it
    /// offers every mechanism the configured stores need (`forImport`: what an import of
    /// this family's keys needs). A token that cannot serve stops the helper here (exit 6)
    /// with what is missing and why, not at the first key. Nil when no token is configured.
    public static func connect<Family: KeyFamily>(family: Family, settings: HelperSettings, forImport: Bool = false,
                                                  log: @escaping @Sendable (_ up: Bool, _ message: String) -> Void) throws(SecmodError) -> Pkcs11Token? {
        guard let configuration = settings.pkcs11 else { return nil }
        var algorithms: [KeyAlgorithm] = []
        if settings.keyStore == .pkcs11 || forImport { algorithms += family.groups.indices.map(family.algorithm(group:)) }
        if settings.securityModuleKeyStore == .pkcs11 { algorithms.append(.ed25519) }
        return try connect(configuration: configuration, algorithms: algorithms, log: log)
    }

    /// Loads the token's library, finds the token by label and logs in, then checks that it
    /// offers every mechanism that keys of `algorithms` need; one that cannot serve stops
    /// the program here (exit 6) with what is missing and why.
    public static func connect(configuration: Pkcs11Settings, algorithms: [KeyAlgorithm],
                               log: @escaping @Sendable (_ up: Bool, _ message: String) -> Void) throws(SecmodError) -> Pkcs11Token {
        let pin = try readPin(configuration.pinFile)
        try checkLibrary(configuration.module)
        let module = try Pkcs11Module.open(path: configuration.module)
        let token = Pkcs11Token(module: module, label: configuration.token, pin: pin, log: log)
        try token.connect()
        let needs = algorithms.flatMap(Self.mechanisms(for:))
        let offered = try token.mechanisms()
        for (mechanism, why) in needs where !offered.contains(mechanism.rawValue) {
            throw SecmodError(.configValue, "PKCS#11 token '\(configuration.token)' (\(configuration.module)) does not offer \(mechanism), which \(why)")
        }
        return token
    }

    /// The token's library runs inside the process that holds the keys: whoever can replace
    /// it owns them. It and its directory (after symbolic links) must belong to root or the
    /// helper's user and be writable by no one else; a sticky directory such as /tmp is
    /// fine, since no one else may rename or remove a file in it.
    static func checkLibrary(_ path: String) throws(SecmodError) {
        guard let real = FileSystem.canonicalPath(path) else {
            throw SecmodError(.configValue, "PKCS11_MODULE \(path) does not exist")
        }
        let me = UInt32(geteuid())
        for (what, entry) in [("PKCS11_MODULE", real), ("the directory of PKCS11_MODULE", FileSystem.directoryName(of: real))] {
            let st: FileStatus
            do throws(Errno) { st = try FileSystem.status(entry) } catch { throw error.error("\(what) \(entry)", code: .configValue) }
            guard st.uid == 0 || st.uid == me else {
                throw SecmodError(.permission, "\(what) \(entry) belongs to uid \(st.uid): a token library must belong to root (or the helper's user), since it runs with the keys")
            }
            let sticky = st.permissions & 0o1000 != 0 && entry != real
            guard st.permissions & 0o022 == 0 || sticky else {
                throw SecmodError(.permission, "\(what) \(entry) has mode \(octalMode(st.permissions)): group or others could replace the token library, which runs with the keys")
            }
        }
    }

    /// What a token must offer to make and use keys of `algorithm`, with why.
    static func mechanisms(for algorithm: KeyAlgorithm) -> [(Pkcs11Mechanism, String)] {
        switch algorithm {
        case .ed25519:
            [(.edwardsKeyPairGeneration, "makes the Ed25519 keys inside the token"),
             (.eddsa, "signs with them (pure Ed25519, as GNUnet's EdDSA)")]
        case .rsa:
            [(.rsaKeyPairGeneration, "makes the RSA denomination keys inside the token"),
             (.rsaRaw, "makes the blind signatures: raw RSA on the blinded value (tokens in FIPS mode often turn it off)")]
        case .clauseSchnorr:
            []  // never asked: the CS helper refuses KEY_STORE = pkcs11 before it opens a token
        }
    }

    /// The user PIN, from a file only the helper can read (checked like SM_PRIV_KEY), into
    /// locked memory; one trailing newline is not part of it.
    static func readPin(_ path: String) throws(SecmodError) -> SecureBytes {
        guard FileSystem.exists(path) else { throw SecmodError(.configMissing, "PKCS11_PIN_FILE \(path) does not exist") }
        try PrivateStorage.check(path, what: "PKCS11_PIN_FILE")
        let contents = try KeyDirectory.readEntry(path: path, maximumSize: 256)
        let length = contents.withUnsafeBytes { bytes in
            var n = bytes.count
            if n > 0, bytes[n - 1] == 0x0A { n -= 1 }
            if n > 0, bytes[n - 1] == 0x0D { n -= 1 }
            return n
        }
        guard length > 0 else { throw SecmodError(.configValue, "PKCS11_PIN_FILE \(path) is empty") }
        var pin = SecureBytes(count: length)
        contents.withUnsafeBytes { source in
            pin.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: source.prefix(length))) }
        }
        return pin
    }
}
