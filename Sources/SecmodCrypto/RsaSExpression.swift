import SecmodBase
import SecmodSystem

/// A reader for libgcrypt S-expressions, as much as RSA key files use: lists, length-prefixed
/// atoms (`3:rsa`, canonical and GNUnet's default format), bare tokens and `#hex#` atoms
/// (advanced format), with whitespace between elements and trailing NULs after the end.
///
/// Written here rather than calling `gcry_sexp_new` so that atoms stay references into the
/// caller's locked buffer (no secret is copied into memory nobody wipes), and so that each
/// rejection can say where the file went wrong. Nesting is bounded: a hostile file cannot
/// exhaust the stack.
struct RsaSExpression {
    enum Node {
        case atom(Atom)
        case list([Node])
    }

    /// An atom is a range of the source text: raw bytes, or hex digits to decode.
    struct Atom {
        let range: Range<Int>
        let isHex: Bool
    }

    static let maximumDepth = 16

    /// Parses exactly one top-level list.
    static func parse(_ text: UnsafeRawBufferPointer) throws(SecmodError) -> [Node] {
        func fail(_ why: String, at offset: Int) -> SecmodError {
            SecmodError(.keyFile, "RSA key file is not a valid S-expression: \(why) at byte \(offset)")
        }
        var open: [[Node]] = []
        var result: [Node]? = nil
        var i = 0
        while i < text.count {
            let c = text[i]
            if isWhitespace(c) { i += 1; continue }
            if c == 0 {
                guard result != nil else { throw fail("NUL byte inside the expression", at: i) }
                i += 1
                continue
            }
            guard result == nil else { throw fail("data after the end of the expression", at: i) }
            switch c {
            case UInt8(ascii: "("):
                guard open.count < maximumDepth else { throw fail("lists nested too deeply", at: i) }
                open.append([])
                i += 1
            case UInt8(ascii: ")"):
                guard let finished = open.popLast() else { throw fail("unbalanced ')'", at: i) }
                if open.isEmpty { result = finished } else { open[open.count - 1].append(.list(finished)) }
                i += 1
            default:
                guard !open.isEmpty else { throw fail("an atom outside any list", at: i) }
                let atom: Atom
                if isDigit(c) {
                    var length = 0
                    var j = i
                    while j < text.count, isDigit(text[j]) {
                        length = length * 10 + Int(text[j] - UInt8(ascii: "0"))
                        guard length <= text.count else { throw fail("an atom longer than the file", at: i) }
                        j += 1
                    }
                    guard j < text.count, text[j] == UInt8(ascii: ":") else {
                        throw fail("a length prefix not followed by ':' (only raw length-prefixed atoms are supported)", at: j)
                    }
                    guard length <= text.count - (j + 1) else { throw fail("truncated atom of \(length) bytes", at: i) }
                    atom = Atom(range: j + 1 ..< j + 1 + length, isHex: false)
                    i = j + 1 + length
                } else if c == UInt8(ascii: "#") {
                    var j = i + 1
                    while j < text.count, text[j] != UInt8(ascii: "#") {
                        guard hexValue(text[j]) != nil else { throw fail("a non-hex character in a #hex# atom", at: j) }
                        j += 1
                    }
                    guard j < text.count else { throw fail("unterminated #hex# atom", at: i) }
                    guard (j - i - 1) % 2 == 0 else { throw fail("odd number of digits in a #hex# atom", at: i) }
                    atom = Atom(range: i + 1 ..< j, isHex: true)
                    i = j + 1
                } else if isTokenStart(c) {
                    var j = i + 1
                    while j < text.count, isTokenStart(text[j]) || isDigit(text[j]) { j += 1 }
                    atom = Atom(range: i ..< j, isHex: false)
                    i = j
                } else {
                    throw fail("unexpected byte 0x\(String(c, radix: 16))", at: i)
                }
                open[open.count - 1].append(.atom(atom))
            }
        }
        guard let result else {
            throw open.isEmpty ? fail("no expression", at: 0) : fail("truncated: \(open.count) list(s) not closed", at: text.count)
        }
        return result
    }

    /// Whether `atom` spells `name` (not secret: used for the names of lists).
    static func atom(_ atom: Atom, in text: UnsafeRawBufferPointer, is name: String, ignoringCase: Bool = false) -> Bool {
        let expected = Array(name.utf8)
        var actual: [UInt8] = []
        if atom.isHex {
            var k = atom.range.lowerBound
            while k < atom.range.upperBound {
                actual.append(hexValue(text[k])! << 4 | hexValue(text[k + 1])!)
                k += 2
            }
        } else {
            actual = Array(text[atom.range])
        }
        guard ignoringCase else { return actual == expected }
        return actual.count == expected.count && zip(actual, expected).allSatisfy { lower($0) == lower($1) }
    }

    /// The atom's bytes, decoded into locked memory.
    static func withDecodedBytes<R, E: Error>(_ atom: Atom, in text: UnsafeRawBufferPointer,
                                              _ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        guard atom.isHex else { return try body(UnsafeRawBufferPointer(rebasing: text[atom.range])) }
        var decoded = SecureBytes(count: atom.range.count / 2)
        decoded.withUnsafeMutableBytes { out in
            for k in 0 ..< out.count {
                let at = atom.range.lowerBound + 2 * k
                out[k] = hexValue(text[at])! << 4 | hexValue(text[at + 1])!
            }
        }
        return try decoded.withUnsafeBytes { (bytes) throws(E) -> R in try body(bytes) }
    }

    private static func isWhitespace(_ c: UInt8) -> Bool { c == 0x20 || (0x09 ... 0x0D).contains(c) }
    private static func isDigit(_ c: UInt8) -> Bool { (0x30 ... 0x39).contains(c) }
    private static func lower(_ c: UInt8) -> UInt8 { (0x41 ... 0x5A).contains(c) ? c + 0x20 : c }

    /// libgcrypt's token characters: letters and "-./_:*+=".
    private static func isTokenStart(_ c: UInt8) -> Bool {
        (0x41 ... 0x5A).contains(c) || (0x61 ... 0x7A).contains(c) || Array("-./_:*+=".utf8).contains(c)
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30 ... 0x39: c - 0x30
        case 0x41 ... 0x46: c - 0x41 + 10
        case 0x61 ... 0x66: c - 0x61 + 10
        default: nil
        }
    }
}
