import SecmodBase
import SecmodCrypto
import SecmodSystem

extension FuzzTargets {
    /// The largest key file the RSA helper reads (`RsaFamily.maximumKeyFileSize`).
    public static let maximumKeyFileSize = 16 * 1024

    /// An RSA private key file as the helper finds it in its key directory (wire.md §3.7): the
    /// S-expression reader, the structure checks and the checks that the integers form one
    /// key. The engine varies with the input so that all three see the keys that pass.
    public static func sexpr(_ input: [UInt8]) {
        guard input.count <= maximumKeyFileSize else { return }
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
