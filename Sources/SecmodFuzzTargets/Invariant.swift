/// Stops the process when a decoder breaks a promise. A crash, because that is what
/// libFuzzer notices and keeps the input of; the message says which promise.
func invariant(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
               file: StaticString = #fileID, line: UInt = #line) {
    if !condition() {
        fatalError("fuzz invariant broken: \(message())", file: file, line: line)
    }
}
