import SecmodBase

/// `Array.withUnsafeBytes` with a typed error (the standard library's only rethrows).
public func offlineWithBytes<R>(_ bytes: [UInt8], _ body: (UnsafeRawBufferPointer) throws(SecmodError) -> R) throws(SecmodError) -> R {
    try bytes.withUnsafeBytes { raw in Result { () throws(SecmodError) -> R in try body(raw) } }.get()
}

/// `Array.withUnsafeMutableBytes` with a typed error.
public func offlineWithMutableBytes<R>(_ bytes: inout [UInt8], _ body: (UnsafeMutableRawBufferPointer) throws(SecmodError) -> R) throws(SecmodError) -> R {
    try bytes.withUnsafeMutableBytes { raw in Result { () throws(SecmodError) -> R in try body(raw) } }.get()
}
