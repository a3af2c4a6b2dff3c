import SecmodBase
import SecmodSystem

/// The RSA private key file of wire.md §3.7: what `GNUNET_CRYPTO_rsa_private_key_encode` writes
/// (libgcrypt's `gcry_pk_genkey` result printed with `GCRYSEXP_FMT_DEFAULT`, NUL included),
/// so that the C helper and ours can read each other's key directories.
enum RsaKeyFile {
    /// Accepts `(key-data (public-key …) (private-key …))` and a bare `(private-key (rsa …))`,
    /// in GNUnet's default layout or canonical form, as `GNUNET_CRYPTO_rsa_private_key_decode`
    /// does; then checks that the integers form one key.
    static func read(_ file: borrowing SecureBytes) throws(SecmodError) -> RsaKeyMaterial {
        // libgcrypt's secure pool must be set up before its first use, or it never is.
        try Gcrypt.initialize()
        return try file.withUnsafeBytes { (text) throws(SecmodError) -> RsaKeyMaterial in try read(text) }
    }

    private static func read(_ text: UnsafeRawBufferPointer) throws(SecmodError) -> RsaKeyMaterial {
        func fail(_ why: String) -> SecmodError { SecmodError(.keyFile, "RSA key file: \(why)") }
        typealias Node = RsaSExpression.Node

        func name(of list: [Node]) -> RsaSExpression.Atom? {
            if case .atom(let atom)? = list.first { return atom }
            return nil
        }
        func isNamed(_ list: [Node], _ wanted: String, ignoringCase: Bool = false) -> Bool {
            guard let atom = name(of: list) else { return false }
            return RsaSExpression.atom(atom, in: text, is: wanted, ignoringCase: ignoringCase)
        }
        /// The sublists of `list` (after its name) called `wanted`.
        func children(_ list: [Node], named wanted: String, ignoringCase: Bool = false) -> [[Node]] {
            list.dropFirst().compactMap { node in
                if case .list(let child) = node, isNamed(child, wanted, ignoringCase: ignoringCase) { return child }
                return nil
            }
        }
        /// The algorithm list inside (private-key …) or (public-key …): it must be RSA.
        func rsaParameters(_ key: [Node], _ what: String) throws(SecmodError) -> [Node] {
            let rsa = children(key, named: "rsa", ignoringCase: true)
            guard rsa.count == 1 else {
                throw fail(rsa.isEmpty ? "the \(what) is not an RSA key (no (rsa …) list)" : "the \(what) has more than one (rsa …) list")
            }
            return rsa[0]
        }
        func integer(_ parameters: [Node], _ parameter: String, _ what: String) throws(SecmodError) -> GcryptInteger {
            let found = children(parameters, named: parameter)
            guard found.count == 1 else {
                throw fail(found.isEmpty ? "the \(what) lacks the parameter \(parameter)" : "the \(what) has the parameter \(parameter) twice")
            }
            guard found[0].count == 2, case .atom(let value) = found[0][1] else {
                throw fail("the parameter \(parameter) of the \(what) is not a single value")
            }
            var result: GcryptInteger? = nil
            try RsaSExpression.withDecodedBytes(value, in: text) { (bytes) throws(SecmodError) in
                // libgcrypt reads key parameters as two's complement: a set top bit means negative.
                if let top = bytes.first, top & 0x80 != 0 { throw fail("the parameter \(parameter) of the \(what) is negative") }
                result = try GcryptInteger.secret(bigEndian: bytes)
            }
            return result.take()!
        }

        let top = try RsaSExpression.parse(text)
        let privateKey: [Node]
        var publicKey: [Node]? = nil
        if isNamed(top, "key-data") {
            let privates = children(top, named: "private-key")
            let publics = children(top, named: "public-key")
            guard privates.count == 1, publics.count <= 1 else {
                throw fail("(key-data …) must hold one (private-key …) and at most one (public-key …)")
            }
            privateKey = privates[0]
            publicKey = publics.first
        } else if isNamed(top, "private-key") {
            privateKey = top
        } else {
            throw fail("the expression is neither (key-data …) nor (private-key …)")
        }

        let what = "private key"
        let parameters = try rsaParameters(privateKey, what)
        let n = try integer(parameters, "n", what)
        let e = try integer(parameters, "e", what)
        if let publicKey {
            let published = try rsaParameters(publicKey, "public key")
            guard try integer(published, "n", "public key").compare(n) == 0,
                  try integer(published, "e", "public key").compare(e) == 0 else {
                throw fail("the public key part does not match the private key")
            }
        }
        return try RsaKeyMaterial(n: n, e: e, d: try integer(parameters, "d", what), p: try integer(parameters, "p", what),
                                  q: try integer(parameters, "q", what), u: try integer(parameters, "u", what))
    }

    /// The wire.md §3.7 layout byte for byte, trailing NUL included. Integers are libgcrypt "STD":
    /// big-endian two's complement, so a 0x00 goes in front of a set top bit.
    static func write(_ material: RsaKeyMaterial) -> SecureBytes {
        enum Piece { case text(String), integer(RsaKeyMaterial.Part) }
        let pieces: [Piece] = [
            .text("(8:key-data\n (10:public-key\n  (3:rsa\n   (1:n"), .integer(.n), .text(")\n   (1:e"), .integer(.e),
            .text(")\n   )\n  )\n (11:private-key\n  (3:rsa\n   (1:n"), .integer(.n), .text(")\n   (1:e"), .integer(.e),
            .text(")\n   (1:d"), .integer(.d), .text(")\n   (1:p"), .integer(.p), .text(")\n   (1:q"), .integer(.q),
            .text(")\n   (1:u"), .integer(.u), .text(")\n   )\n  )\n )\n\0"),
        ]
        func layout(_ part: RsaKeyMaterial.Part) -> (prefix: [UInt8], padded: Bool) {
            material.withBytes(part) { bytes in
                let padded = (bytes.first ?? 0) & 0x80 != 0
                return (Array("\(bytes.count + (padded ? 1 : 0)):".utf8), padded)
            }
        }
        var total = 0
        for piece in pieces {
            switch piece {
            case .text(let s): total += s.utf8.count
            case .integer(let part):
                let (prefix, padded) = layout(part)
                total += prefix.count + (padded ? 1 : 0) + material.withBytes(part) { $0.count }
            }
        }
        var file = SecureBytes(count: total)
        file.withUnsafeMutableBytes { out in
            var at = 0
            func append(_ bytes: some Collection<UInt8>) {
                for b in bytes { out[at] = b; at += 1 }
            }
            for piece in pieces {
                switch piece {
                case .text(let s): append(s.utf8)
                case .integer(let part):
                    let (prefix, padded) = layout(part)
                    append(prefix)
                    if padded { append([0]) }
                    material.withBytes(part) { bytes in
                        UnsafeMutableRawBufferPointer(rebasing: out[at ..< at + bytes.count]).copyMemory(from: bytes)
                        at += bytes.count
                    }
                }
            }
            precondition(at == total)
        }
        return file
    }
}
