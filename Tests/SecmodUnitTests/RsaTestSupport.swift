import Foundation
import SecmodBase
import SecmodCrypto
import SecmodSystem

/// Keys shared by the RSA tests, checked in (`Fixtures/`), so that every run signs with the
/// same moduli: a property that holds only for some keys fails every time, not one run in
/// many. Tests of key generation generate their own.
enum RsaFixtures {
    static let key1024 = Result { () throws(SecmodError) in try load("test-only-rsa-1024.key") }
    static let key2048 = Result { () throws(SecmodError) in try load("test-only-rsa-2048.key") }

    private static func load(_ name: String) throws(SecmodError) -> RsaPrivateKey {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/" + name).path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SecmodError(.keyFile, "test fixture \(path) is missing")
        }
        return try RsaPrivateKey(keyFile: rsaSecure(Array(data)), engine: .openssl)
    }

    /// A random m < n of `length` bytes (the top byte kept below n's).
    static func message(below key: RsaPrivateKey, length: Int) -> [UInt8] {
        var m = randomBytes(length)
        if length >= key.publicKey.modulus.count { m[length - key.publicKey.modulus.count] = 0 }
        if m.allSatisfy({ $0 == 0 }) { m[m.count - 1] = 1 }
        return m
    }
}

func rsaSecure(_ bytes: [UInt8]) -> SecureBytes {
    var secure = SecureBytes(count: bytes.count)
    secure.withUnsafeMutableBytes { $0.copyBytes(from: bytes) }
    return secure
}

/// `n − k` for a big-endian `n ≥ k`, borrowing across bytes (`n` may end in 0x01).
func rsaSubtract(_ k: UInt8, from n: [UInt8]) -> [UInt8] {
    var result = n
    var borrow = Int(k)
    var i = result.count - 1
    while borrow > 0, i >= 0 {
        let value = Int(result[i]) - borrow
        result[i] = UInt8((value + 256) % 256)
        borrow = value < 0 ? 1 : 0
        i -= 1
    }
    return result
}

/// For inspecting test keys only.
func rsaPlain(_ secure: borrowing SecureBytes) -> [UInt8] {
    secure.withUnsafeBytes { Array($0) }
}

/// A reader for the key file's layout, independent of the one under test: each atom's
/// offset and length, and a skeleton of the file in which long atoms read `<N>`.
struct RsaFileAtoms {
    struct Atom { let offset: Int; let length: Int }
    var atoms: [Atom] = []
    var skeleton = ""

    init(_ file: [UInt8]) {
        var i = 0
        while i < file.count {
            let c = file[i]
            if (0x30 ... 0x39).contains(c) {
                var length = 0
                while file[i] != UInt8(ascii: ":") {
                    length = length * 10 + Int(file[i] - 0x30)
                    i += 1
                }
                atoms.append(Atom(offset: i + 1, length: length))
                let content = file[(i + 1) ..< (i + 1 + length)]
                skeleton += "\(length):" + (length > 16 ? "<\(length)>" : String(decoding: content, as: UTF8.self))
                i += 1 + length
            } else {
                skeleton += String(UnicodeScalar(c))
                i += 1
            }
        }
    }

    /// The value atom following the name atom `name` (the `occurrence`-th such pair).
    func value(_ file: [UInt8], after name: String, occurrence: Int = 0) -> Atom? {
        var seen = 0
        for (k, atom) in atoms.enumerated() where k + 1 < atoms.count {
            if Array(file[atom.offset ..< atom.offset + atom.length]) == Array(name.utf8) {
                if seen == occurrence { return atoms[k + 1] }
                seen += 1
            }
        }
        return nil
    }

    /// The file in canonical form: no whitespace, no trailing NUL.
    static func canonical(_ file: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while i < file.count {
            let c = file[i]
            if (0x30 ... 0x39).contains(c) {
                let start = i
                var length = 0
                while file[i] != UInt8(ascii: ":") {
                    length = length * 10 + Int(file[i] - 0x30)
                    i += 1
                }
                out += file[start ..< i + 1 + length]
                i += 1 + length
            } else {
                if c == UInt8(ascii: "(") || c == UInt8(ascii: ")") { out.append(c) }
                i += 1
            }
        }
        return out
    }

    /// The canonical sub-expression that starts with `(` at `start`.
    static func list(in canonical: [UInt8], at start: Int) -> [UInt8] {
        var depth = 0
        var i = start
        repeat {
            let c = canonical[i]
            if c == UInt8(ascii: "(") { depth += 1; i += 1 }
            else if c == UInt8(ascii: ")") { depth -= 1; i += 1 }
            else {
                var length = 0
                while canonical[i] != UInt8(ascii: ":") {
                    length = length * 10 + Int(canonical[i] - 0x30)
                    i += 1
                }
                i += 1 + length
            }
        } while depth > 0
        return Array(canonical[start ..< i])
    }
}

func rsaHex(_ bytes: some Sequence<UInt8>) -> String {
    bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}

func rsaFirstIndex(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
    guard needle.count <= haystack.count else { return nil }
    for i in 0 ... haystack.count - needle.count where Array(haystack[i ..< i + needle.count]) == needle { return i }
    return nil
}
