#if canImport(Glibc)
import Glibc
#endif
import SecmodBase

/// A shared library opened at run time: a PKCS#11 token's module, named by the operator.
///
/// Never closed: a token's library may start threads of its own and keep pointers into its
/// code in them, so unloading it before the process ends could crash the helper.
public final class DynamicLibrary: @unchecked Sendable {
    public let path: String
    private let handle: UnsafeMutableRawPointer

    /// Opens `path` with every symbol bound now, so that a library missing one of its own
    /// dependencies fails here, at start, and not at the first signature.
    public init(path: String) throws(SecmodError) {
        guard path.hasPrefix("/") else {
            throw SecmodError(.configValue, "\(path): a library must be named by its absolute path, or the loader's search path would choose it")
        }
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "unknown reason"
            throw SecmodError(.configValue, "cannot load \(path): \(reason)")
        }
        self.path = path
        self.handle = handle
    }

    /// The address of `name`, or nil if the library does not define it.
    public func symbol(_ name: String) -> UnsafeMutableRawPointer? {
        dlsym(handle, name)
    }
}
