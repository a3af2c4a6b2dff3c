import Foundation
import SecmodFuzzTargets

/// `secmod-fuzz <target> [libFuzzer arguments…]`.
///
/// Built with `-sanitize=fuzzer`, it hands the arguments to libFuzzer. Built without, it
/// replays: every argument that names a file or directory is fed to the target once, so a
/// crasher saved by the fuzzer reproduces with an ordinary debug build and a debugger.
enum FuzzCommand {
    /// Lets libFuzzer's child processes (`-fork`, `-jobs`, `-merge`), which it starts with
    /// the arguments it was given and so without the target name, find the target.
    static let targetVariable = "SECMOD_FUZZ_TARGET"

    static func main() {
        var arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "--list" {
            for target in FuzzTarget.allCases {
                say("\(target.rawValue) \(target.maximumInputLength) \(target.summary)")
            }
            exit(0)
        }
        let target: FuzzTarget
        if let name = arguments.first, let named = FuzzTarget(rawValue: name) {
            target = named
            arguments.removeFirst()
            setenv(targetVariable, name, 1)
        } else if let name = ProcessInfo.processInfo.environment[targetVariable], let named = FuzzTarget(rawValue: name) {
            target = named
        } else {
            usage()
        }
        if LibFuzzer.isLinked {
            exit(LibFuzzer.run(target, program: CommandLine.arguments[0], arguments: arguments))
        }
        exit(Replay.run(target, arguments: arguments))
    }

    static func usage() -> Never {
        var text = """
            usage: secmod-fuzz <target> [libFuzzer arguments...] [corpus or input...]
                   secmod-fuzz --list
            Built with -sanitize=fuzzer (contrib/fuzz.sh) it fuzzes; built without, it feeds each
            input file, or each file in an input directory, to the target once.
            targets:

            """
        for target in FuzzTarget.allCases {
            text += "  \(target.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)) \(target.summary)\n"
        }
        sayError(text)
        exit(2)
    }

    /// Standard streams through write(2): Swift 6 rejects `stdout` as shared mutable state.
    static func say(_ text: String) { write(1, text + "\n") }
    static func sayError(_ text: String) { write(2, text + (text.hasSuffix("\n") ? "" : "\n")) }

    private static func write(_ fd: Int32, _ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return }
            bytes = bytes.dropFirst(n)
        }
    }
}
