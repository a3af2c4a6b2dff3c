internal import CPkcs11
import SecmodBase
import SecmodSystem

/// A token vendor's PKCS#11 library, opened at run time and initialised for threads.
///
/// One per process and path: `C_Initialize` may be called only once per library, and the
/// library is never finalised or unloaded (its own threads may still run; see
/// `DynamicLibrary`). Every call into the library goes through this module's files.
public final class Pkcs11Module: @unchecked Sendable {
    public let path: String
    let functions: UnsafeMutablePointer<CK_FUNCTION_LIST>
    private let library: DynamicLibrary

    private static let loaded = Locked<[String: Pkcs11Module]>([:])

    /// Opens and initialises the library at `path`, once per process.
    public static func open(path: String) throws(SecmodError) -> Pkcs11Module {
        if let module = loaded.withLock({ $0[path] }) { return module }
        let module = try Pkcs11Module(path: path)
        return loaded.withLock { table in
            if let other = table[path] { return other }
            table[path] = module
            return module
        }
    }

    private init(path: String) throws(SecmodError) {
        library = try DynamicLibrary(path: path)
        guard let entry = library.symbol("C_GetFunctionList") else {
            throw SecmodError(.configValue, "\(path) is not a PKCS#11 library: it has no C_GetFunctionList")
        }
        typealias GetFunctionList = @convention(c) (UnsafeMutablePointer<UnsafeMutablePointer<CK_FUNCTION_LIST>?>?) -> CK_RV
        let getFunctionList = unsafeBitCast(entry, to: GetFunctionList.self)
        var list: UnsafeMutablePointer<CK_FUNCTION_LIST>?
        let rv = getFunctionList(&list)
        guard rv == CKR_OK, let list else {
            throw SecmodError(.token, "\(path): C_GetFunctionList returned \(Pkcs11ReturnCode(rv))")
        }
        guard list.pointee.version.major == 2 || list.pointee.version.major == 3 else {
            throw SecmodError(.token, "\(path) implements PKCS#11 version \(list.pointee.version.major), not 2.x or 3.x")
        }
        functions = list
        self.path = path
        // The library's own OS locking: workers call it from several threads at once, each
        // on its own session.
        var arguments = CK_C_INITIALIZE_ARGS()
        arguments.flags = CK_FLAGS(CKF_OS_LOCKING_OK)
        let initialized = withUnsafeMutablePointer(to: &arguments) { functions.pointee.C_Initialize(UnsafeMutableRawPointer($0)) }
        guard initialized == CKR_OK || initialized == CKR_CRYPTOKI_ALREADY_INITIALIZED else {
            throw SecmodError(.token, "\(path): C_Initialize returned \(Pkcs11ReturnCode(initialized))")
        }
    }

    /// A slot with a token in it, as the library describes it.
    public struct TokenDescription: Sendable {
        public let slot: UInt
        /// `CKA_LABEL` of the token, trailing blanks removed.
        public let label: String
        public let manufacturer: String
        public let model: String
        public let serialNumber: String
    }

    /// The tokens present now.
    public func tokens() throws(SecmodError) -> [TokenDescription] {
        do throws(Pkcs11Failure) {
            var count: CK_ULONG = 0
            try check(functions.pointee.C_GetSlotList(CK_BBOOL(CK_TRUE), nil, &count), "C_GetSlotList")
            var slots = [CK_SLOT_ID](repeating: 0, count: Int(count))
            try check(functions.pointee.C_GetSlotList(CK_BBOOL(CK_TRUE), &slots, &count), "C_GetSlotList")
            var result: [TokenDescription] = []
            for slot in slots.prefix(Int(count)) {
                var info = CK_TOKEN_INFO()
                guard functions.pointee.C_GetTokenInfo(slot, &info) == CKR_OK else { continue }
                result.append(TokenDescription(
                    slot: UInt(slot), label: Self.blankPadded(info.label), manufacturer: Self.blankPadded(info.manufacturerID),
                    model: Self.blankPadded(info.model), serialNumber: Self.blankPadded(info.serialNumber)))
            }
            return result
        } catch {
            throw error.error(path)
        }
    }

    /// The one token labelled `label`. Tokens are found by label, not slot number: slot
    /// numbers change as tokens come and go (SoftHSM numbers them by hash).
    public func token(labelled label: String) throws(SecmodError) -> TokenDescription {
        let matching = try tokens().filter { $0.label == label }
        guard let token = matching.first else {
            let present = try tokens().map { "'\($0.label)'" }.joined(separator: ", ")
            throw SecmodError(.token, "\(path) has no token labelled '\(label)' (present: \(present.isEmpty ? "none" : present))")
        }
        guard matching.count == 1 else {
            throw SecmodError(.token, "\(path) has \(matching.count) tokens labelled '\(label)'; labels must be unique")
        }
        return token
    }

    /// The mechanisms the token in `slot` offers.
    public func mechanisms(slot: UInt) throws(SecmodError) -> Set<UInt> {
        do throws(Pkcs11Failure) {
            var count: CK_ULONG = 0
            try check(functions.pointee.C_GetMechanismList(CK_SLOT_ID(slot), nil, &count), "C_GetMechanismList")
            var list = [CK_MECHANISM_TYPE](repeating: 0, count: Int(count))
            try check(functions.pointee.C_GetMechanismList(CK_SLOT_ID(slot), &list, &count), "C_GetMechanismList")
            return Set(list.prefix(Int(count)).map { UInt($0) })
        } catch {
            throw error.error(path)
        }
    }

    /// PKCS#11's fixed-width, blank-padded text fields.
    private static func blankPadded<T>(_ field: T) -> String {
        withUnsafeBytes(of: field) { bytes in
            var end = bytes.count
            while end > 0, bytes[end - 1] == 0x20 || bytes[end - 1] == 0 { end -= 1 }
            return String(decoding: bytes.prefix(end), as: UTF8.self)
        }
    }
}
