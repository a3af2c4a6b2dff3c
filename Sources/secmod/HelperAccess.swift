import ArgumentParser
import SecmodClient
import SecmodConfig
import SecmodSystem

/// Resolves a helper's socket the way the helper does, from the same configuration.
func helperSocketPath(_ options: HelperOptions) throws -> String {
    do throws(SecmodError) {
        let configuration = try TalerConfiguration.load(file: options.config)
        return try configuration.require(configuration.filename(section: options.helper.section, option: "UNIXPATH"),
                                         section: options.helper.section, option: "UNIXPATH")
    } catch {
        throw CLIError(error)
    }
}

func connectRsa(_ options: HelperOptions) throws -> RsaHelperClient {
    let client = RsaHelperClient(socketPath: try helperSocketPath(options))
    do throws(SecmodError) { try client.connect(timeout: options.timeout) } catch { throw CLIError(error) }
    return client
}

func connectEddsa(_ options: HelperOptions) throws -> EddsaHelperClient {
    let client = EddsaHelperClient(socketPath: try helperSocketPath(options))
    do throws(SecmodError) { try client.connect(timeout: options.timeout) } catch { throw CLIError(error) }
    return client
}

/// A failure shown as one clear line, with a non-zero exit.
struct CLIError: Error, CustomStringConvertible {
    let message: String
    init(_ error: SecmodError) { message = "\(error.code): \(error.message)" }
    init(_ message: String) { self.message = message }
    var description: String { message }
}

/// Writes JSON without Foundation's escaping surprises: our values are numbers and base32.
func jsonObject(_ fields: [(String, String)]) -> String {
    "{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}"
}

func jsonString(_ s: String) -> String { "\"" + s + "\"" }
