import ArgumentParser
import Foundation
import SecmodAgentClient
import SecmodBase
import SecmodConfig
import SecmodCrypto
import SecmodSystem
import SecmodWire

/// `secmod agent …`: the operator's view of `secmod-agent`, through its socket, with the
/// caller's own rights (the agent lists and signs only what this user may use).
struct AgentGroup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Talk to secmod-agent: list its keys (the default), sign, blind an onion-service key.",
        subcommands: [AgentKeysCommand.self, AgentSignCommand.self, AgentBlindCommand.self], defaultSubcommand: AgentKeysCommand.self)
}

/// Where the agent is and how long to wait for it.
struct AgentOptions: ParsableArguments {
    @Option(name: [.customShort("c"), .long], help: "The agent's configuration file: its socket is [secmod-agent] UNIXPATH.")
    var config: String?

    @Option(name: .long, help: "The agent's socket, instead of the configuration's (or $SSH_AUTH_SOCK when neither is given).")
    var socket: String?

    @Option(name: .long, help: "Give up after this many seconds.")
    var timeout: Double = defaultHelperTimeout

    @Flag(name: .long, help: "Print JSON (errors as {\"error\": {\"code\": …}}).")
    var json = false

    func validate() throws { try validateTimeout(timeout, allowZero: false) }

    func connection() throws -> SSHAgentConnection {
        if let socket { return SSHAgentConnection(socketPath: socket) }
        if config == nil, let path = ProcessInfo.processInfo.environment["SSH_AUTH_SOCK"], !path.isEmpty {
            return SSHAgentConnection(socketPath: path)
        }
        do throws(SecmodError) {
            let configuration = try TalerConfiguration.load(file: config)
            let path = try configuration.require(configuration.filename(section: "secmod-agent", option: "UNIXPATH"),
                                                 section: "secmod-agent", option: "UNIXPATH")
            return SSHAgentConnection(socketPath: FileSystem.tidyPath(path))
        } catch {
            throw CLIError(error)
        }
    }

    var duration: Duration { .seconds(timeout) }

    /// The key named by `name`: its comment, its `SHA256:` fingerprint, or its key line.
    func key(_ name: String, in keys: [AgentIdentity]) throws -> AgentIdentity {
        let found = keys.filter { key in
            key.comment == name || AgentKeysCommand.fingerprint(key) == name || key.openSSHLine.hasPrefix(name)
        }
        guard found.count == 1 else {
            throw CLIError(found.isEmpty ? "the agent offers this user no key '\(name)'" : "'\(name)' names \(found.count) keys; use the fingerprint")
        }
        return found[0]
    }
}

/// Runs `body`, turning library errors into the CLI's.
func agentCall<T>(_ body: () throws(SecmodError) -> T) throws -> T {
    do throws(SecmodError) { return try body() } catch { throw CLIError(error) }
}

struct AgentKeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "List the keys the agent offers this user: type, fingerprint, comment.",
        discussion: "Fingerprints are OpenSSH's (SHA256:…), as ssh-add -l prints them. --public prints the keys as ssh-add -L does.")

    @OptionGroup var options: AgentOptions

    @Flag(name: .long, help: "Print the public keys as authorized_keys lines.")
    var `public` = false

    static func fingerprint(_ key: AgentIdentity) -> String {
        SSHPublicKey.fingerprint(sha256: Digest.sha256.hash(key.blob))
    }

    static func bits(_ key: AgentIdentity) -> Int {
        switch key.publicKey {
        case .ed25519?: 256
        case let .rsa(_, modulus)?: modulus.count * 8 - (modulus.first.map { $0.leadingZeroBitCount } ?? 0)
        default: 0
        }
    }

    func run() throws {
        let c = try options.connection()
        let keys = try agentCall { () throws(SecmodError) in try c.identities(timeout: options.duration) }
        if options.json {
            print(jsonObject([("keys", "[" + keys.map { key in
                jsonObject([("type", jsonString(key.publicKey?.typeName ?? "unknown")), ("bits", String(Self.bits(key))),
                            ("fingerprint", jsonString(Self.fingerprint(key))), ("comment", jsonString(key.comment)),
                            ("public_key", jsonString(key.openSSHLine))])
            }.joined(separator: ",") + "]")]))
            return
        }
        if keys.isEmpty { print("The agent offers this user no keys (or it is locked).") }
        for key in keys {
            print(self.public ? key.openSSHLine : "\(Self.bits(key)) \(Self.fingerprint(key)) \(key.comment) (\(key.publicKey?.typeName ?? "unknown"))")
        }
    }
}

struct AgentSignCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign",
        abstract: "Sign standard input with a key of the agent.",
        discussion: """
            With --namespace, the input is signed as `ssh-keygen -Y sign -n NAMESPACE` signs a file
            (SSHSIG over its SHA-512; the key needs sshsig:NAMESPACE) and the armored signature is
            printed: `ssh-keygen -Y verify` checks it. With --raw, the input itself is signed (the
            key needs `any`) and the signature blob is printed in base64.
            """)

    @OptionGroup var options: AgentOptions

    @Option(name: [.customShort("k"), .long], help: "The key: its comment, fingerprint or public key line.")
    var key: String

    @Option(name: [.customShort("n"), .long], help: "Sign as SSHSIG in this namespace (file, git, email, …).")
    var namespace: String?

    @Flag(name: .long, help: "Sign the input bytes themselves.")
    var raw = false

    func validate() throws {
        guard (namespace != nil) != raw else { throw ValidationError("give exactly one of --namespace and --raw") }
    }

    func run() throws {
        let c = try options.connection()
        let keys = try agentCall { () throws(SecmodError) in try c.identities(timeout: options.duration) }
        let identity = try options.key(key, in: keys)
        let input = [UInt8](FileHandle.standardInput.readDataToEndOfFile())
        let flags: AgentSignFlags = identity.publicKey?.typeName == SSHPublicKey.rsaName ? .rsaSHA512 : []
        guard let namespace else {
            let signature = try agentCall { () throws(SecmodError) in
                try c.sign(keyBlob: identity.blob, data: input, flags: flags, timeout: options.duration)
            }
            print(Base64.encode(signature.encoded))
            return
        }
        let signed = SSHSignatureFile.signedData(namespace: namespace, message: input)
        let signature = try agentCall { () throws(SecmodError) in
            try c.sign(keyBlob: identity.blob, data: signed, flags: flags, timeout: options.duration)
        }
        print(SSHSignatureFile.armored(publicKey: identity.blob, namespace: namespace, signature: signature.encoded), terminator: "")
    }
}

/// OpenSSH's PROTOCOL.sshsig: what is signed and the armored file `ssh-keygen -Y` reads.
enum SSHSignatureFile {
    static func signedData(namespace: String, message: [UInt8]) -> [UInt8] {
        var w = SSHWriter()
        w.raw(SSHSignedData.sshsigMagic)
        w.string(namespace)
        w.string("")
        w.string("sha512")
        w.string(Digest.sha512.hash(message))
        return w.bytes
    }

    static func armored(publicKey: [UInt8], namespace: String, signature: [UInt8]) -> String {
        var w = SSHWriter()
        w.raw(SSHSignedData.sshsigMagic)
        w.uint32(1)
        w.string(publicKey)
        w.string(namespace)
        w.string("")
        w.string("sha512")
        w.string(signature)
        let text = Base64.encode(w.bytes)
        var lines = ["-----BEGIN SSH SIGNATURE-----"]
        var index = text.startIndex
        while index < text.endIndex {
            let end = text.index(index, offsetBy: 70, limitedBy: text.endIndex) ?? text.endIndex
            lines.append(String(text[index..<end]))
            index = end
        }
        lines.append("-----END SSH SIGNATURE-----")
        return lines.joined(separator: "\n") + "\n"
    }
}

struct AgentBlindCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "blind",
        abstract: "The blinded key of an onion-service identity key for a time period (and, with --sign, a signature under it).",
        discussion: "The key needs the tor-hs purpose and must be an Ed25519 key in the file store. Prints the blinded public key in hex, then the signature of standard input in hex with --sign.")

    @OptionGroup var options: AgentOptions

    @Option(name: [.customShort("k"), .long], help: "The identity key: its comment, fingerprint or public key line.")
    var key: String

    @Option(name: .long, help: "The time period number.")
    var period: UInt64

    @Option(name: .long, help: "The time period's length in minutes (tor's default is 1440).")
    var periodLength: UInt64 = 1440

    @Flag(name: .long, help: "Also sign standard input with the blinded key.")
    var sign = false

    func run() throws {
        let c = try options.connection()
        let keys = try agentCall { () throws(SecmodError) in try c.identities(timeout: options.duration) }
        let identity = try options.key(key, in: keys)
        if sign {
            let input = [UInt8](FileHandle.standardInput.readDataToEndOfFile())
            let (blinded, signature) = try agentCall { () throws(SecmodError) in
                try c.blindSign(keyBlob: identity.blob, periodNumber: period, periodLengthMinutes: periodLength, data: input, timeout: options.duration)
            }
            print(Hex.encode(blinded))
            print(Hex.encode(signature))
        } else {
            let blinded = try agentCall { () throws(SecmodError) in
                try c.blindedKey(keyBlob: identity.blob, periodNumber: period, periodLengthMinutes: periodLength, timeout: options.duration)
            }
            print(Hex.encode(blinded))
        }
    }
}
