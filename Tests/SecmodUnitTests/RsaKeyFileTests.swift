import SecmodCrypto
import SecmodSystem
import Testing

@Suite struct RsaKeyFileTests {
    @Test func keyFileHasGnunetsExactLayout() throws {
        let key = try RsaFixtures.key2048.get()
        let file = rsaPlain((try key.keyFile()))
        let layout = RsaFileAtoms(file)
        let d = try #require(layout.value(file, after: "d"))
        let u = try #require(layout.value(file, after: "u"))
        let e = "\u{01}\u{00}\u{01}"
        let expected = "(8:key-data\n (10:public-key\n  (3:rsa\n   (1:n257:<257>)\n   (1:e3:\(e))\n   )\n  )\n"
            + " (11:private-key\n  (3:rsa\n   (1:n257:<257>)\n   (1:e3:\(e))\n   (1:d\(d.length):<\(d.length)>)\n"
            + "   (1:p129:<129>)\n   (1:q129:<129>)\n   (1:u\(u.length):<\(u.length)>)\n   )\n  )\n )\n\u{00}"
        #expect(layout.skeleton == expected)
        #expect((1346 ... 1349).contains(file.count))
        #expect(file.last == 0)

        // n appears twice, each time as libgcrypt's two's complement: 0x00 then the modulus.
        for occurrence in 0 ..< 2 {
            let n = try #require(layout.value(file, after: "n", occurrence: occurrence))
            #expect(Array(file[n.offset ..< n.offset + n.length]) == [0] + key.publicKey.modulus)
        }
        // Every integer is minimal two's complement: a 0x00 only in front of a set top bit.
        for name in ["d", "p", "q", "u"] {
            let atom = try #require(layout.value(file, after: name))
            let value = Array(file[atom.offset ..< atom.offset + atom.length])
            if value[0] == 0 { #expect(value[1] & 0x80 != 0, "\(name) has a needless 0x00") }
            else { #expect(value[0] & 0x80 == 0, "\(name) would read as negative") }
        }
        // libgcrypt's convention, which u depends on: p < q.
        let p = try #require(layout.value(file, after: "p")), q = try #require(layout.value(file, after: "q"))
        #expect(Array(file[p.offset ..< p.offset + p.length]).lexicographicallyPrecedes(file[q.offset ..< q.offset + q.length]))
    }

    @Test(arguments: RsaEngineKind.allCases)
    func keyFileRoundTrips(engine: RsaEngineKind) throws {
        let key = try RsaFixtures.key2048.get()
        let file = try key.keyFile()
        let loaded = try RsaPrivateKey(keyFile: file, engine: engine)
        #expect(loaded.publicKey == key.publicKey)
        #expect(loaded.engine == engine)
        let rewritten = (try loaded.keyFile()).isEqual(to: file)
        #expect(rewritten)
        let m = RsaFixtures.message(below: key, length: 256)
        #expect(try loaded.sign(blindedMessage: m) == key.sign(blindedMessage: m))
    }

    @Test func canonicalBareAndAdvancedFormsParse() throws {
        let key = try RsaFixtures.key1024.get()
        let file = rsaPlain((try key.keyFile()))
        let canonical = RsaFileAtoms.canonical(file)
        #expect(canonical.count == file.count - 1 - RsaFileAtoms(file).skeleton.filter { $0 == " " || $0 == "\n" }.count)
        let start = try #require(rsaFirstIndex(of: Array("(11:private-key".utf8), in: canonical))
        let bare = RsaFileAtoms.list(in: canonical, at: start)
        #expect(bare.first == UInt8(ascii: "(") && bare.last == UInt8(ascii: ")"))

        // The advanced form: bare tokens and #hex# atoms, as gcry_sexp_sprint(ADVANCED) writes.
        let atoms = RsaFileAtoms(Array(bare))
        var advanced = "(private-key (rsa"
        for name in ["n", "e", "d", "p", "q", "u"] {
            let value = try #require(atoms.value(bare, after: name))
            advanced += "\n  (\(name) #\(rsaHex(bare[value.offset ..< value.offset + value.length]).uppercased())#)"
        }
        advanced += "))\n"

        for (form, bytes) in [("canonical", canonical), ("bare", bare), ("advanced", Array(advanced.utf8)),
                              ("with trailing whitespace", file + Array("  \n\n".utf8))] {
            let loaded = try RsaPrivateKey(keyFile: rsaSecure(bytes), engine: .openssl)
            #expect(loaded.publicKey == key.publicKey, "\(form)")
            #expect(rsaPlain((try loaded.keyFile())) == file, "\(form) is not rewritten in GNUnet's layout")
        }
    }

    @Test func corruptFilesAreRejectedAsKeyFileErrors() throws {
        let key = try RsaFixtures.key2048.get()
        let file = rsaPlain((try key.keyFile()))
        let layout = RsaFileAtoms(file)
        func flipping(_ name: String, occurrence: Int = 0, at index: Int = 100) -> [UInt8] {
            let atom = layout.value(file, after: name, occurrence: occurrence)!
            var copy = file
            copy[atom.offset + min(index, atom.length - 1)] ^= 0x04
            return copy
        }
        func replacing(_ old: String, _ new: String) -> [UInt8] {
            var copy = file
            let at = rsaFirstIndex(of: Array(old.utf8), in: copy)!
            copy.replaceSubrange(at ..< at + old.utf8.count, with: Array(new.utf8))
            return copy
        }
        let p = layout.value(file, after: "p")!, q = layout.value(file, after: "q")!
        var swapped = file
        swapped.replaceSubrange(p.offset ..< p.offset + p.length, with: file[q.offset ..< q.offset + q.length])
        swapped.replaceSubrange(q.offset ..< q.offset + q.length, with: file[p.offset ..< p.offset + p.length])
        let u = layout.value(file, after: "u")!
        let withoutU = Array(file[..<(u.offset - 8)]) + Array(file[(u.offset + u.length + 2)...])
        var negativeP = file
        negativeP.remove(at: p.offset)  // drop p's 0x00 and say 128: the top bit now reads as a sign
        negativeP.replaceSubrange(p.offset - 4 ..< p.offset, with: Array("128:".utf8))

        let corrupt: [(String, [UInt8])] = [
            ("empty", []),
            ("only NULs", [UInt8](repeating: 0, count: 64)),
            ("junk", Array("hello, world".utf8)),
            ("random bytes", randomBytes(1347)),
            ("truncated to 1 byte", Array(file.prefix(1))),
            ("truncated in n", Array(file.prefix(200))),
            ("truncated in half", Array(file.prefix(file.count / 2))),
            ("truncated before the last ')'", Array(file.prefix(file.count - 3))),
            ("data after the end", file + Array("x".utf8)),
            ("a second expression", Array(file.dropLast()) + Array("()".utf8)),
            ("wrong private n", flipping("n", occurrence: 1)),
            ("public n differs", flipping("n", occurrence: 0)),
            ("wrong e", replacing("(1:e3:\u{01}\u{00}\u{01})\n   (1:d", "(1:e3:\u{01}\u{00}\u{03})\n   (1:d")),
            ("wrong d", flipping("d")),
            ("p*q != n", flipping("p")),
            ("wrong q", flipping("q", at: 128)),
            ("wrong u", flipping("u")),
            ("p and q swapped", swapped),
            ("u missing", withoutU),
            ("negative p", negativeP),
            ("not RSA", replacing("(3:rsa\n   (1:n257", "(3:dsa\n   (1:n257")),
            ("longer length prefix", replacing("(1:n257:", "(1:n258:")),
            ("neither key-data nor private-key", replacing("(8:key-data", "(8:key-date")),
            ("unbalanced", Array(")".utf8) + file),
            ("deeply nested", [UInt8](repeating: UInt8(ascii: "("), count: 10_000)),
        ]
        for (what, bytes) in corrupt {
            do {
                _ = try RsaPrivateKey(keyFile: rsaSecure(bytes), engine: .openssl)
                Issue.record("accepted a corrupt key file: \(what)")
            } catch {
                #expect(error.code == .keyFile, "\(what): \(error)")
                #expect(error.message.count < 160, "\(what): \(error.message)")
            }
        }
    }

    @Test func endingWithoutTheNulOrNewlineIsStillAKey() throws {
        let key = try RsaFixtures.key1024.get()
        let file = rsaPlain((try key.keyFile()))
        for cut in 1 ... 2 {
            #expect(try RsaPrivateKey(keyFile: rsaSecure(Array(file.dropLast(cut))), engine: .nettle).publicKey == key.publicKey)
        }
    }
}
