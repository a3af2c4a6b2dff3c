import Foundation
import SecmodBase
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A SoftHSMv2 token of its own in a directory: its configuration (`SOFTHSM2_CONF`), its
/// token store, a user PIN and a PIN file. A helper started with `environment` sees only
/// this token; `pkcs11-tool` with the same environment is the independent view of it.
struct SoftHSMToken {
    static let module = "/usr/lib/softhsm/libsofthsm2.so"
    static let label = "secmod-test"
    static let pin = "20261206"

    /// Whether Debian's softhsm2 and opensc are installed (contrib/deps.sh installs them).
    static let available = FileManager.default.fileExists(atPath: module)
        && FileManager.default.isExecutableFile(atPath: "/usr/bin/softhsm2-util")
        && FileManager.default.isExecutableFile(atPath: "/usr/bin/pkcs11-tool")

    let directory: String
    var configPath: String { directory + "/softhsm2.conf" }
    var pinFile: String { directory + "/pin" }
    var environment: [String: String] { ["SOFTHSM2_CONF": configPath] }

    /// A new token in `directory` (created).
    init(directory: String) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory + "/tokens", withIntermediateDirectories: true)
        try writeConfiguration()
        let made = run("/usr/bin/softhsm2-util", ["--init-token", "--free", "--label", Self.label, "--pin", Self.pin, "--so-pin", "0000" + Self.pin])
        guard made.status == 0 else { throw HelperTestError("softhsm2-util --init-token: \(made.output)") }
        try (Self.pin + "\n").write(toFile: pinFile, atomically: false, encoding: .utf8)
        chmod(pinFile, 0o400)
    }

    /// Rewrites the configuration. `onlyMechanisms`: the slot offers these and no others, as
    /// a token without the rest would (SoftHSM's `slots.mechanisms`; its "-NAME" form did
    /// not remove CKM_RSA_X_509 in 2.6.1).
    func writeConfiguration(onlyMechanisms: [String]? = nil) throws {
        let mechanisms = onlyMechanisms?.joined(separator: ",") ?? "ALL"
        try """
            directories.tokendir = \(directory)/tokens
            objectstore.backend = file
            log.level = ERROR
            slots.mechanisms = \(mechanisms)

            """.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    /// The helper-section lines that keep a helper's keys (and, `moduleKey`, its security
    /// module key) in this token.
    func configuration(moduleKey: Bool = false, keys: Bool = true) -> String {
        """
        KEY_STORE = \(keys ? "pkcs11" : "file")
        SM_KEY_STORE = \(moduleKey ? "pkcs11" : "file")
        PKCS11_MODULE = \(Self.module)
        PKCS11_TOKEN = \(Self.label)
        PKCS11_PIN_FILE = \(pinFile)
        """
    }

    /// A private key in the token, as `pkcs11-tool --list-objects` reports it.
    struct Object: Equatable {
        let label: String
        let id: String
        let attributes: String
    }

    /// The private keys in the token, read by OpenSC's pkcs11-tool (not our code).
    func privateKeys() throws -> [Object] {
        let listed = run("/usr/bin/pkcs11-tool", ["--module", Self.module, "--token-label", Self.label, "--login", "--pin", Self.pin,
                                                  "--list-objects", "--type", "privkey"])
        guard listed.status == 0 else { throw HelperTestError("pkcs11-tool --list-objects: \(listed.output)") }
        var objects: [Object] = []
        var label = "", id = "", attributes = ""
        func flush() { if !id.isEmpty { objects.append(Object(label: label, id: id, attributes: attributes)) } }
        for line in listed.stdout.split(separator: "\n") {
            let text = line.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("Private Key Object") { flush(); label = ""; id = ""; attributes = String(line) }
            else if text.hasPrefix("label:") { label = text.dropFirst(6).trimmingCharacters(in: .whitespaces) }
            else if text.hasPrefix("ID:") { id = text.dropFirst(3).trimmingCharacters(in: .whitespaces) }
            else { attributes += "\n" + text }
        }
        flush()
        return objects
    }

    /// Makes an Ed25519 key in the token with `pkcs11-tool`, as a stray object would be.
    func makeKey(id: String, label: String) throws {
        let made = run("/usr/bin/pkcs11-tool", ["--module", Self.module, "--token-label", Self.label, "--login", "--pin", Self.pin,
                                                "--keypairgen", "--key-type", "EC:edwards25519", "--id", id, "--label", label])
        guard made.status == 0 else { throw HelperTestError("pkcs11-tool --keypairgen: \(made.output)") }
    }

    /// Destroys the private key with this id, behind the helper's back.
    func destroyKey(id: String) throws {
        let done = run("/usr/bin/pkcs11-tool", ["--module", Self.module, "--token-label", Self.label, "--login", "--pin", Self.pin,
                                                "--delete-object", "--type", "privkey", "--id", id])
        guard done.status == 0 else { throw HelperTestError("pkcs11-tool --delete-object: \(done.output)") }
    }

    /// Runs a SoftHSM tool. `output` is what it printed on stdout, then on stderr (for
    /// messages); `stdout` alone is what gets parsed. The two are kept apart because a
    /// warning on stderr (pkcs11-tool's "C_GetAttributeValue(CLASS) failed" about an object
    /// the helper deleted while the list ran) once landed in the middle of an `ID:` line
    /// of stdout's buffered output, and the test reported a key it had misread.
    func run(_ tool: String, _ arguments: [String]) -> (status: Int32, output: String, stdout: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["SOFTHSM2_CONF"] = configPath
        process.environment = environment
        // stderr into a file, so that neither pipe can fill while the other is read.
        let errorPath = NSTemporaryDirectory() + "softhsm-stderr-\(UInt64.random(in: 0 ... .max))"
        guard FileManager.default.createFile(atPath: errorPath, contents: nil),
              let errorFile = FileHandle(forWritingAtPath: errorPath) else { return (-1, "cannot create \(errorPath)", "") }
        defer { try? FileManager.default.removeItem(atPath: errorPath) }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = errorFile
        do { try process.run() } catch { return (-1, "\(error)", "") }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        try? errorFile.close()
        let errors = (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? ""
        return (process.terminationStatus, output + errors, output)
    }
}
