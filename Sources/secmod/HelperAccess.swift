import ArgumentParser
import SecmodBase
import SecmodClient
import SecmodConfig
import SecmodOffline
import SecmodSystem
import SecmodWire
#if canImport(Glibc)
import Glibc
#endif

/// How to reach a helper, resolved the way the helper does from the same configuration:
/// its socket, its transport, and its security module key when `[exchange-offline]` pins it
/// (otherwise the client pins the key it first sees).
struct HelperEndpoint {
    let path: String
    let transport: HelperTransport
    let moduleKey: [UInt8]?
}

func helperEndpoint(_ options: HelperOptions) throws -> HelperEndpoint {
    try helperEndpoint(helper: options.helper, config: options.config)
}

func helperEndpoint(helper: HelperKind, config: String?) throws -> HelperEndpoint {
    do throws(SecmodError) {
        let c = try TalerConfiguration.load(file: config)
        let section = helper.section
        let path = try c.require(c.filename(section: section, option: "UNIXPATH"), section: section, option: "UNIXPATH")
        let type = try c.choice(section: section, option: "SOCKET_TYPE", among: HelperTransport.allCases.map(\.rawValue)) ?? "dgram"
        var moduleKey: [UInt8]?
        if let text = try c.string(section: OfflineSettings.section, option: helper.moduleKeyOption) {
            do throws(SecmodError) { moduleKey = try CrockfordBase32.decode(text, byteCount: 32) } catch {
                throw SecmodError(.configValue, "[\(OfflineSettings.section)] \(helper.moduleKeyOption): the pinned module key is malformed: \(error.message)")
            }
        }
        return HelperEndpoint(path: path, transport: HelperTransport(rawValue: type)!, moduleKey: moduleKey)
    } catch {
        throw CLIError(error)
    }
}

func connectRsa(_ options: HelperOptions) throws -> RsaHelperClient {
    try connectRsa(config: options.config, timeout: options.timeout)
}

func connectRsa(config: String?, timeout: Double) throws -> RsaHelperClient {
    let endpoint = try helperEndpoint(helper: .rsa, config: config)
    let client = RsaHelperClient(socketPath: endpoint.path, transport: endpoint.transport, pinnedSecurityModuleKey: endpoint.moduleKey)
    client.defaultTimeout = helperTimeout(timeout)  // every call, not only the handshake
    do throws(SecmodError) { try client.connect() } catch { throw helperFailure(error, endpoint: endpoint, timeout: timeout) }
    return client
}

func connectCs(_ options: HelperOptions) throws -> CsHelperClient {
    try connectCs(config: options.config, timeout: options.timeout)
}

/// The CS helper's client, in the SIGNATURE layout the helper's `CS_WIRE` names.
func connectCs(config: String?, timeout: Double) throws -> CsHelperClient {
    let endpoint = try helperEndpoint(helper: .cs, config: config)
    let wire: CsWireVersion
    do throws(SecmodError) {
        let c = try TalerConfiguration.load(file: config)
        let name = try c.choice(section: HelperKind.cs.section, option: "CS_WIRE", among: CsWireVersion.allCases.map(\.rawValue))
        wire = name.flatMap(CsWireVersion.init(rawValue:)) ?? .current
    } catch {
        throw CLIError(error)
    }
    let client = CsHelperClient(socketPath: endpoint.path, transport: endpoint.transport, wire: wire, pinnedSecurityModuleKey: endpoint.moduleKey)
    client.defaultTimeout = helperTimeout(timeout)  // every call, not only the handshake
    do throws(SecmodError) { try client.connect() } catch { throw helperFailure(error, endpoint: endpoint, timeout: timeout) }
    return client
}

func connectEddsa(_ options: HelperOptions) throws -> EddsaHelperClient {
    try connectEddsa(config: options.config, timeout: options.timeout)
}

func connectEddsa(config: String?, timeout: Double) throws -> EddsaHelperClient {
    let endpoint = try helperEndpoint(helper: .eddsa, config: config)
    let client = EddsaHelperClient(socketPath: endpoint.path, transport: endpoint.transport, pinnedSecurityModuleKey: endpoint.moduleKey)
    client.defaultTimeout = helperTimeout(timeout)  // every call, not only the handshake
    do throws(SecmodError) { try client.connect() } catch { throw helperFailure(error, endpoint: endpoint, timeout: timeout) }
    return client
}

/// A failure to reach a helper, with what the client can tell of why: a timeout after the
/// socket accepted the request means the helper is stopped or refuses this user.
func helperFailure(_ error: SecmodError, endpoint: HelperEndpoint, timeout: Double) -> CLIError {
    guard error.code == .timeout else { return CLIError(error) }
    return CLIError(SecmodError(.timeout, "no answer from the helper at \(endpoint.path) within \(timeout) s: it is stopped or busy, or it refuses this user (uid \(getuid()); see CLIENT_USERS and CLIENT_GROUPS, and the helper's log of refused INITs). --timeout 0 waits as long as it takes"))
}

/// A failure shown as one clear line, with a non-zero exit.
struct CLIError: Error, CustomStringConvertible {
    let message: String
    /// The stable code, for `--json` and the exit status; nil for a plain failure.
    let code: SecmodError.Code?
    /// The message without the code in front, for `--json`.
    let detail: String
    init(_ error: SecmodError) {
        message = "\(error.code): \(error.message)"
        code = error.code
        detail = error.message
    }
    init(_ message: String) {
        self.message = message
        code = nil
        detail = message
    }
    var description: String { message }

    /// The exit-status table of docs/cli-exit-codes.md, shared with the helpers where the
    /// meaning is the same (4 permission, 6 configuration).
    var exitStatus: Int32 {
        switch code {
        case .configMissing?, .configSyntax?, .configValue?: 6
        case .permission?: 4
        case .usage?: 64
        case .timeout?: 75
        default: 1
        }
    }
}

/// Writes JSON without Foundation's escaping surprises: values are numbers and strings
/// already rendered with `jsonString`.
func jsonObject(_ fields: [(String, String)]) -> String {
    "{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}"
}

/// A JSON string; section names come from files an operator edits, so they are escaped.
func jsonString(_ s: String) -> String { JSONValue.quoted(s) }
