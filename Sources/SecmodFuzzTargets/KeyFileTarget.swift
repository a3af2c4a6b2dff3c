import SecmodBase
import SecmodCrypto
import SecmodKeys
import SecmodSystem

extension FuzzTargets {
    /// The largest key file the RSA helper reads (`RsaFamily.maximumKeyFileSize`).
    public static let maximumKeyFileSize = 16 * 1024

    /// An entry of a key directory as the helper finds it: an RSA private key file
    /// (wire.md §3.7: the S-expression reader, the structure checks and the checks that the
    /// integers form one key; the engine varies with the input so that all three see the keys
    /// that pass), or a token key's reference (key-store.md §3), which must encode back to
    /// exactly the bytes it was parsed from.
    public static func sexpr(_ input: [UInt8]) {
        guard input.count <= maximumKeyFileSize else { return }
        if input.withUnsafeBytes({ KeyReference.isReference($0) }) {
            reference(input)
            return
        }
        KeyFileChecks.initializeOnce
        let file = SecureBytes(copying: input)
        let engine = RsaEngineKind.allCases[input.count % RsaEngineKind.allCases.count]
        let key: RsaPrivateKey
        do throws(SecmodError) {
            key = try RsaPrivateKey(keyFile: file, engine: engine)
        } catch {
            // The documented failure: a malformed or inconsistent file is `.keyFile`.
            invariant(error.code == .keyFile, "key file refused with \(error.code): \(error.message)")
            return
        }
        KeyFileChecks.rewrite(key, engine: engine)
    }
}

extension FuzzTargets {
    static func reference(_ input: [UInt8]) {
        let parsed = input.withUnsafeBytes { bytes in
            Result { () throws(SecmodError) in try KeyReference(parsing: bytes, path: "fuzz") }
        }
        switch parsed {
        case let .success(reference):
            // Hex of either case parses and the writer uses lower case, so the bytes may
            // differ, but not their number, and what is written parses to the same reference.
            let written = reference.encoded()
            invariant(written.count == input.count, "a reference parsed from \(input.count) bytes writes \(written.count)")
            invariant((try? written.withUnsafeBytes { b throws(SecmodError) in try KeyReference(parsing: b, path: "again") }) == reference,
                      "a written reference does not parse to itself")
        case let .failure(error):
            invariant(error.code == .keyFile, "reference refused with \(error.code): \(error.message)")
        }
    }
}

enum KeyFileChecks {
    /// The helper initialises libgcrypt (and its secure memory) before reading keys.
    static let initializeOnce: Void = {
        do throws(SecmodError) { try Gcrypt.initialize() } catch { fatalError("libgcrypt: \(error.message)") }
    }()

    /// A key that loads writes GNUnet's layout, which loads as the same key and writes the
    /// same bytes again; and it signs.
    static func rewrite(_ key: RsaPrivateKey, engine: RsaEngineKind) {
        guard let written = try? key.keyFile() else {
            invariant(false, "a key read from a file has no key file")
            return
        }
        let again: RsaPrivateKey
        do throws(SecmodError) {
            again = try RsaPrivateKey(keyFile: written, engine: engine)
        } catch {
            invariant(false, "a key does not load from the file it wrote: \(error.message)")
            return
        }
        invariant(again.publicKey == key.publicKey, "the rewritten key file holds another key")
        invariant((try? again.keyFile())?.isEqual(to: written) == true, "writing a key file is not stable")
        invariant(written.lastByte == 0, "the key file lacks GNUnet's trailing NUL")
        RsaPublicKeyChecks.check(key.publicKey.encoded())
        let message: [UInt8] = [2]
        guard let signature = try? key.sign(blindedMessage: message) else {
            invariant(false, "a loaded key cannot sign")
            return
        }
        invariant(key.publicKey.verifyRaw(signature: signature, message: message), "a signature does not verify")
    }
}
