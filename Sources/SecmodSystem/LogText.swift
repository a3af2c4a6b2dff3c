/// The one way bytes that someone else chose reach a log line: client input, file names,
/// section names, paths. Without it, a newline in a name forges a whole log line and an
/// ESC sequence rewrites the operator's terminal.
public enum LogText {
    /// `bytes` in double quotes, with every byte that is not printable ASCII, and `\` and
    /// `"`, written as `\xHH`. The result is one line of printable ASCII whatever the input,
    /// and the original bytes can be read back from it exactly.
    public static func quoted(_ bytes: some Sequence<UInt8>) -> String {
        "\"" + escaped(bytes, keepingNonASCII: false, quotes: true) + "\""
    }

    public static func quoted(_ text: String) -> String { quoted(text.utf8) }

    /// The last line of defence, applied by the log handler to every whole line: control
    /// bytes (C0 and DEL) become `\xHH`, and so does a backslash that could make an escaped
    /// byte look like one that was not; UTF-8 text is kept as it is.
    public static func neutralized(_ line: String) -> String {
        guard line.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else { return line }
        return escaped(line.utf8, keepingNonASCII: true, quotes: false)
    }

    private static func escaped(_ bytes: some Sequence<UInt8>, keepingNonASCII: Bool, quotes: Bool) -> String {
        var out: [UInt8] = []
        for b in bytes {
            let plain = (b >= 0x20 && b < 0x7F && b != UInt8(ascii: "\\") && !(quotes && b == UInt8(ascii: "\"")))
                || (keepingNonASCII && b >= 0x80)
            if plain {
                out.append(b)
            } else {
                let hex = Array("0123456789abcdef".utf8)
                out += [UInt8(ascii: "\\"), UInt8(ascii: "x"), hex[Int(b >> 4)], hex[Int(b & 0xF)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
