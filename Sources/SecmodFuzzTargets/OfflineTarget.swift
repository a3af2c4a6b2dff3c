import SecmodOffline
import SecmodWire

extension FuzzTargets {
    /// What the offline signer reads: the future-keys document `download` fetches from the
    /// exchange (`sign` reads it) and the signatures document (`upload` reads it). Every
    /// string in a document, and the whole input, is also tried as an amount, as base32
    /// and as an age-group list, the encodings those documents and the settings carry; the
    /// whole input also as the set of pinned security-module keys.
    public static func offline(_ input: [UInt8]) {
        OfflineChecks.scalar(String(decoding: input, as: UTF8.self))
        if let keySet = try? SecurityModuleKeySet(bytes: input) {  // the pinned keys, as `secmod` stores them
            invariant(keySet.bytes == input, "SecurityModuleKeySet round trip")
        }
        guard let document = try? JSONValue.parse(input) else { return }
        OfflineChecks.json(document)
        OfflineChecks.forEachString(in: document, OfflineChecks.scalar)
        if let arguments = try? OfflineOperation.unwrapInputKeys(document) {
            OfflineChecks.futureKeys(arguments, document: document)
        } else {
            OfflineChecks.futureKeys(document, document: document)
        }
        OfflineChecks.uploadSignatures(document)
    }
}

enum OfflineChecks {
    /// Rendering and parsing again gives the same text: member order, number spelling and
    /// every string survive, indented or compact.
    static func json(_ document: JSONValue) {
        for indent in [0, 2] {
            let text = document.rendered(indent: indent)
            guard let again = try? JSONValue.parse(text) else {
                invariant(false, "JSON rendered with indent \(indent) does not parse: \(text.debugDescription)")
                return
            }
            invariant(Array(again.rendered(indent: indent).utf8) == Array(text.utf8),
                      "JSON does not survive rendering with indent \(indent)")
        }
    }

    static func forEachString(in value: JSONValue, _ body: (String) -> Void) {
        switch value {
        case .string(let s): body(s)
        case .array(let elements): for e in elements { forEachString(in: e, body) }
        case .object(let members):
            for m in members {
                body(m.name)
                forEachString(in: m.value, body)
            }
        case .null, .bool, .number: break
        }
    }

    static func futureKeys(_ arguments: JSONValue, document: JSONValue) {
        guard let keys = try? FutureKeys(arguments: arguments, currency: nil) else { return }
        guard let again = try? FutureKeys(arguments: keys.json, currency: nil) else {
            invariant(false, "FutureKeys does not parse its own JSON")
            return
        }
        invariant(again == keys, "FutureKeys does not survive its JSON")
        invariant(Array(OfflineOperation.wrapInputKeys(keys.json).rendered().utf8)
                  == Array(OfflineOperation.wrapInputKeys(again.json).rendered().utf8), "FutureKeys JSON is not stable")
        for key in keys.signingKeys {
            invariant(key.masterSignedBytes.count == 64 && key.secmodSignedBytes.count == 56, "signing key purposes")
        }
        let zeroHash = [UInt8](repeating: 0, count: 64)
        for (i, denomination) in keys.denominations.enumerated() {
            invariant(denomination.masterSignedBytes(masterPublicKey: keys.masterPublicKey, denominationHash: zeroHash).count == 256,
                      "denomination master purpose")
            invariant(denomination.secmodSignedBytes(keyHash: zeroHash, sectionNameHash: zeroHash).count == 152,
                      "denomination secmod purpose")
            invariant(!denomination.sectionName.isEmpty && !denomination.sectionName.utf8.contains(0), "section name")
            // taler-exchange-offline compares the cipher with strcasecmp: ASCII case only.
            if case .array(let list)? = arguments["future_denoms"], i < list.count,
               case .string(let cipher)? = list[i]["denom_pub"]?["cipher"] {
                invariant(cipher.asciiUppercased == denomination.publicKey.cipher.name,
                          "cipher \(cipher.debugDescription) accepted as \(denomination.publicKey.cipher.name)")
            }
            if denomination.publicKey.cipher == .rsa { RsaPublicKeyChecks.check(denomination.publicKey.keyBytes) }
        }
    }

    static func uploadSignatures(_ document: JSONValue) {
        if let arguments = try? UploadSignatures(arguments: document) {
            invariant((try? UploadSignatures(arguments: arguments.arguments)) == arguments, "UploadSignatures round trip")
        }
        guard let operations = try? UploadSignatures.operations(in: document) else { return }
        var elements: [JSONValue] = []
        for operation in operations {
            guard case .array(let one) = operation.document else { invariant(false, "document is not an array"); return }
            elements += one
        }
        invariant((try? UploadSignatures.operations(in: .array(elements))) == operations, "upload operations round trip")
    }

    /// The text encodings inside the documents: each accepted text must be the spelling the
    /// writer produces, up to the variations the decoder documents.
    static func scalar(_ text: String) {
        if let amount = try? Amount(parsing: text) {
            invariant((try? Amount(parsing: amount.description)) == amount, "amount \(text.debugDescription) round trip")
            invariant(amount.networkBytes.count == Amount.networkByteCount, "amount network size")
            invariant(String(text.prefix { $0 != ":" }).asciiUppercased == amount.currency, "amount currency")
        }
        for byteCount in [nil, 32, 64] as [Int?] {
            let decoded = byteCount.map { try? CrockfordBase32.decode(text, byteCount: $0) } ?? (try? CrockfordBase32.decode(text))
            guard let decoded else { continue }
            invariant(byteCount == nil || decoded.count == byteCount, "base32 length")
            invariant(CrockfordBase32.encode(decoded) == canonicalBase32(text), "base32 \(text.debugDescription) round trip")
        }
        if let mask = try? AgeMask.parse(groups: text) {
            let ages = (1..<32).filter { mask & (1 << UInt32($0)) != 0 }
            invariant(mask & 1 == 1 && (try? AgeMask.parse(groups: ages.map(String.init).joined(separator: ":"))) == mask,
                      "age groups \(text.debugDescription) round trip")
        }
    }

    /// Upper case with Crockford's aliases resolved: what `encode` writes for what `decode` read.
    static func canonicalBase32(_ text: String) -> String {
        String(decoding: text.utf8.map { c -> UInt8 in
            let upper = (0x61...0x7A).contains(c) ? c - 0x20 : c
            switch upper {
            case UInt8(ascii: "O"): return UInt8(ascii: "0")
            case UInt8(ascii: "I"), UInt8(ascii: "L"): return UInt8(ascii: "1")
            case UInt8(ascii: "U"): return UInt8(ascii: "V")
            default: return upper
            }
        }, as: UTF8.self)
    }
}
