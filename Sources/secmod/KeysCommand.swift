import ArgumentParser
import SecmodClient
import SecmodConfig
import SecmodWire

struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the keys a helper announces, with their validity and module key.")

    @OptionGroup var options: HelperOptions

    @Flag(name: .long, help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
        let client = try connectEddsa(options)
        defer { client.disconnect() }
        let module = client.securityModulePublicKey.map(CrockfordBase32.encode) ?? ""
        if json {
            let rows = client.keys.map { key in
                jsonObject([
                    ("anchor", String(key.anchor.seconds)),
                    ("end", String(key.anchor.adding(key.duration).seconds)),
                    ("duration", jsonString(formatRelativeTime(key.duration.microseconds))),
                    ("public_key", jsonString(CrockfordBase32.encode(key.publicKey))),
                    ("module_key", jsonString(CrockfordBase32.encode(key.securityModulePublicKey))),
                    ("module_signature", jsonString(CrockfordBase32.encode(key.securityModuleSignature))),
                ])
            }
            print("[\n  " + rows.joined(separator: ",\n  ") + "\n]")
            return
        }
        print("helper: \(options.helper.rawValue)   module key: \(module)   keys: \(client.keys.count)")
        print(pad("ANCHOR", 12) + pad("END", 12) + pad("DURATION", 11) + "PUBLIC KEY")
        for key in client.keys {
            print(pad(String(key.anchor.seconds), 12) + pad(String(key.anchor.adding(key.duration).seconds), 12)
                  + pad(formatRelativeTime(key.duration.microseconds), 11) + CrockfordBase32.encode(key.publicKey))
        }
    }

    private func pad(_ s: String, _ width: Int) -> String {
        s + String(repeating: " ", count: max(1, width - s.count))
    }
}
