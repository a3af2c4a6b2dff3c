import ArgumentParser
import SecmodBase
import SecmodClient
import SecmodConfig
import SecmodCrypto
import SecmodKeys
import SecmodSystem
import SecmodWire

/// `secmod keys`: list (the default) and import.
struct Keys: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List a helper's keys (the default), or import its key files into its PKCS#11 token.",
        subcommands: [KeysList.self, KeysImport.self], defaultSubcommand: KeysList.self)
}

struct KeysList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the keys a helper announces, with their validity, module key and store.",
        discussion: "STORE is read from the helper's key directory: file, or pkcs11 with the token label and the key's CKA_ID (as pkcs11-tool --list-objects shows them). It needs the helper's user or root.")

    @OptionGroup var options: HelperOptions

    @Flag(name: .long, help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
        switch options.helper {
        case .eddsa: try listEddsa()
        case .rsa: try listRsa()
        case .cs: try listCs()
        }
    }

    private func listCs() throws {
        let client = try connectCs(options)
        defer { client.disconnect() }
        let store = KeyStoreView(helper: .cs, config: options.config)
        let rows = client.keys.map { key in
            KeyRow(section: key.section, anchor: key.anchor, duration: key.durationWithdraw, bits: nil,
                   id: ("h_cs", CrockfordBase32.encode(key.hash)), publicKey: CrockfordBase32.encode(key.publicKey),
                   moduleKey: key.securityModulePublicKey, moduleSignature: key.securityModuleSignature,
                   place: store.place(section: key.section, anchor: key.anchor))
        }
        print(rows, module: client.securityModulePublicKey)
    }

    private func listEddsa() throws {
        let client = try connectEddsa(options)
        defer { client.disconnect() }
        let store = KeyStoreView(helper: .eddsa, config: options.config)
        let rows = client.keys.map { key in
            KeyRow(section: nil, anchor: key.anchor, duration: key.duration, bits: nil,
                   id: ("public_key", CrockfordBase32.encode(key.publicKey)), publicKey: nil,
                   moduleKey: key.securityModulePublicKey, moduleSignature: key.securityModuleSignature,
                   place: store.place(section: nil, anchor: key.anchor))
        }
        print(rows, module: client.securityModulePublicKey)
    }

    private func listRsa() throws {
        let client = try connectRsa(options)
        defer { client.disconnect() }
        let store = KeyStoreView(helper: .rsa, config: options.config)
        let rows = client.keys.map { key in
            KeyRow(section: key.section, anchor: key.anchor, duration: key.durationWithdraw,
                   bits: (try? RsaPublicKey(encoded: key.publicKey))?.bits,
                   id: ("h_rsa", CrockfordBase32.encode(key.hash)), publicKey: CrockfordBase32.encode(key.publicKey),
                   moduleKey: key.securityModulePublicKey, moduleSignature: key.securityModuleSignature,
                   place: store.place(section: key.section, anchor: key.anchor))
        }
        print(rows, module: client.securityModulePublicKey)
    }

    /// One announced key, whatever its family.
    struct KeyRow {
        let section: String?
        let anchor: Timestamp
        let duration: RelativeTime
        let bits: Int?
        let id: (name: String, value: String)
        let publicKey: String?
        let moduleKey: [UInt8]
        let moduleSignature: [UInt8]
        let place: KeyStoreView.Place
    }

    private func print(_ rows: [KeyRow], module: [UInt8]?) {
        if json {
            let objects = rows.map { r in
                var fields: [(String, String)] = []
                if let section = r.section { fields.append(("section", jsonString(section))) }
                fields += [("anchor", String(r.anchor.seconds)), ("end", String(r.anchor.adding(r.duration).seconds)),
                           ("anchor_utc", jsonString(Self.iso(r.anchor))), ("end_utc", jsonString(Self.iso(r.anchor.adding(r.duration)))),
                           ("duration", jsonString(formatRelativeTime(r.duration)))]
                if let bits = r.bits { fields.append(("bits", String(bits))) }
                fields.append((r.id.name, jsonString(r.id.value)))
                if let pub = r.publicKey { fields.append(("public_key", jsonString(pub))) }
                fields += [("module_key", jsonString(CrockfordBase32.encode(r.moduleKey))),
                           ("module_signature", jsonString(CrockfordBase32.encode(r.moduleSignature))),
                           ("store", jsonString(r.place.name))]
                if case let .pkcs11(token, id) = r.place {
                    fields += [("token", jsonString(token)), ("cka_id", jsonString(Hex.encode(id)))]
                }
                return jsonObject(fields)
            }
            Swift.print("[\n  " + objects.joined(separator: ",\n  ") + "\n]")
            return
        }
        Swift.print("helper: \(options.helper.rawValue)   module key: \(module.map(CrockfordBase32.encode) ?? "")   keys: \(rows.count)")
        let hasSection = rows.contains { $0.section != nil }
        let hasBits = rows.contains { $0.bits != nil }
        Swift.print((hasSection ? pad("SECTION", 12) : "") + pad("ANCHOR", 33) + pad("END", 33) + pad("DURATION", 11)
                    + (hasBits ? pad("BITS", 6) : "") + pad(rows.first?.id.name.asciiUppercased ?? "KEY", 54) + "STORE")
        for r in rows {
            Swift.print((r.section.map { pad($0, 12) } ?? "") + pad("\(r.anchor.seconds) \(Self.iso(r.anchor))", 33)
                        + pad("\(r.anchor.adding(r.duration).seconds) \(Self.iso(r.anchor.adding(r.duration)))", 33)
                        + pad(formatRelativeTime(r.duration), 11)
                        + (hasBits ? pad(r.bits.map(String.init) ?? "?", 6) : "") + pad(r.id.value, 54) + r.place.text)
        }
    }

    /// UTC, ISO 8601, beside the Unix seconds Taler's files and messages use.
    static func iso(_ t: Timestamp) -> String {
        t == .forever ? "never" : CalendarTime.isoUTC(seconds: Int64(clamping: t.seconds))
    }

    private func pad(_ s: String, _ width: Int) -> String {
        s + String(repeating: " ", count: max(1, width - s.count))
    }
}
