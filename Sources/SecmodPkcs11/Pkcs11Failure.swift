import SecmodBase

/// A PKCS#11 call that did not return `CKR_OK`: which call, and what it returned. Kept
/// inside this module, where the return code decides whether to log in again, find the key
/// again or reconnect; callers get a `SecmodError` with code `.token`.
struct Pkcs11Failure: Error {
    let call: String
    let returnCode: Pkcs11ReturnCode

    func error(_ context: String) -> SecmodError {
        SecmodError(.token, "\(context): \(call) returned \(returnCode)")
    }
}

/// Turns a `CK_RV` into a thrown `Pkcs11Failure`.
@inline(__always)
func check(_ rv: UInt, _ call: String) throws(Pkcs11Failure) {
    guard rv == 0 else { throw Pkcs11Failure(call: call, returnCode: Pkcs11ReturnCode(rv)) }
}
