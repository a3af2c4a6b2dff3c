import SecmodBase
import SecmodConfig
import SecmodCrypto
import SecmodKeys
import SecmodSystem
#if canImport(Glibc)
import Glibc
#endif

/// Where a helper keeps a key, as `secmod keys` shows it: read from the key directory the
/// configuration names (the helper's own, so this needs its user or root). A key in a
/// token shows its token label and `CKA_ID`, to match with `pkcs11-tool --list-objects`.
struct KeyStoreView {
    enum Place {
        case file
        case pkcs11(token: String, id: [UInt8])
        /// The entry could not be read (another user's directory) or is not there.
        case unknown(String)

        var name: String {
            switch self {
            case .file: "file"
            case .pkcs11: "pkcs11"
            case .unknown: "unknown"
            }
        }

        var text: String {
            switch self {
            case .file: "file"
            case let .pkcs11(token, id): "pkcs11 token=\(token) id=\(Hex.encode(id))"
            case let .unknown(why): "? (\(why))"
            }
        }
    }

    let keyDirectory: String?

    init(helper: HelperKind, config: String?) {
        let c = try? TalerConfiguration.load(file: config)
        keyDirectory = (try? c?.filename(section: helper.section, option: "KEY_DIR")).flatMap { $0 }.map(FileSystem.tidyPath)
    }

    func place(section: String?, anchor: Timestamp) -> Place {
        guard let keyDirectory else { return .unknown("no KEY_DIR") }
        let path = keyDirectory + (section.map { "/" + $0 } ?? "") + "/" + String(anchor.seconds)
        let contents: SecureBytes
        do throws(SecmodError) {
            contents = try KeyDirectory.readEntry(path: path, maximumSize: 16 * 1024)
        } catch {
            return .unknown(error.errno == EACCES ? "permission denied" : "unreadable")
        }
        do throws(SecmodError) {
            guard let reference = try KeyReference.read(from: contents, path: path) else { return .file }
            return .pkcs11(token: reference.token, id: reference.id)
        } catch {
            return .unknown("malformed reference")
        }
    }
}
