import SecmodCrypto

/// offline-documents.md §10's vectors, made by taler-exchange v0.9.2's libtalerutil and its
/// real `taler-exchange-offline sign`: shared by the unit tests (layouts, hashes, signatures)
/// and the process tests (the `secmod` commands end to end). The master seed is 00 01 … 1f.
public enum OfflineVectors {
    public static func key(seed bytes: [UInt8]) throws -> Ed25519PrivateKey {
        var seed = SecureBytes(count: 32)
        seed.withUnsafeMutableBytes { for i in 0..<32 { $0[i] = bytes[i] } }
        return try Ed25519PrivateKey(seed: seed)
    }

    public static func master() throws -> Ed25519PrivateKey { try key(seed: (0..<32).map { UInt8($0) }) }

    /// offline-documents.md §10's `GET /management/keys` body, as the spec prints it.
    public static let getBody = """
        {"future_denoms":[{"value":"KUDOS:5","stamp_start":{"t_s":1700000000},"stamp_expire_withdraw":{"t_s":1700604800},
          "stamp_expire_deposit":{"t_s":1763676800},"stamp_expire_legal":{"t_s":1952892800},
          "denom_pub":{"cipher":"RSA","age_mask":0,"rsa_public_key":"040000YDQ7FCAJ4P5B6WR6ZF7Z6Z55QQTDXSAWDRMVXKGZYKT9F1V2PKJ1QNJXQ3TEK14BC664N4YNA5H4S3BSS851J59TPJ6HP881ENB3DPEDC0C5CQFN1SCYBSS4CQPA4CPB0ST5RW9JRTVRNJRQBFM41MH1Y5PASPH5VMHFKYGVYE2Z222GXMBQJJ82XQJ6E1B8R0KY2M7E68FSRH3PMM9BJ0PWYZC5K1678NEVNZD43JXTXR16XB022W2HX2SCHKBNV5EW6NHBKTTJHPKAQZDM92Y47QS09WVWZT3S9TWV8VGZVF6V6DME19296JDHKANBENPR485421H1EZQ8442CNKW0XXYP8VQV6YJYNQ8CYM84P2JS0HPR0QXDPEWGPXC2H0KXP231A3H2KRHZXAANERAWC304002"},
          "fee_withdraw":"KUDOS:0.01","fee_deposit":"KUDOS:0.02","fee_refresh":"KUDOS:0.03","fee_refund":"KUDOS:0.04",
          "denom_secmod_sig":"2A7Y137YSAYRHJZQ7JZXNTRTV8YQTCPMNEAYRN48TV4JRFYEDNGSR7R4X15R02Z959E8X2CSDYSR8KRV8K5BH8WKRW1F8TWNHWSG42G",
          "section_name":"coin_kudos_5"}],
         "future_signkeys":[{"key":"XN4JHHH8T71CDTQ90CW90PCNC4MNJ9STBHHZJDHPR5319B476Z8G","stamp_start":{"t_s":1700000000},
          "stamp_expire":{"t_s":1700604800},"stamp_end":{"t_s":1763676800},
          "signkey_secmod_sig":"47RHYF7AYG712BPJWH5FHV8A8GW0R06W4EM7BDB5F5FP6YVX7V75YBZK1JXJRNA8F8FH2ZTJM0K0ZNP5XZB24BQA1JQNGYZNMJNV20R"}],
         "master_pub":"0EGGFFZKSR8BW7BGVMCEEJY0K5KY9NHGKEJGTQRXVJ3684JN66W0",
         "denom_secmod_public_key":"HA4E7QBM17RSBZAJVCPKSEJXEB56E2DZ3PA146ZKEJ403D0FDXE0",
         "denom_secmod_cs_public_key":"0000000000000000000000000000000000000000000000000000",
         "signkey_secmod_public_key":"G4WQE3N8FMBNYNN3AHKC6K3YSK5RV2MHPKQ3F8JXYR7NQ3Y9PEA0"}
        """

    public static let inputDocument = "{\"operation\":\"exchange-input-keys-0\",\"arguments\":" + getBody + "}"

    public static let postBody = "{\"denom_sigs\":[{\"h_denom_pub\":\"262SA7918FFF3RT264YES1V3CZEXX7PDB5JQ2NHJPHCDYB3KTRCBPHAPBVQWYNJHZ12G1YNRMH0G7YHPD51C4HS4HJ3EJ234RGFV898\",\"master_sig\":\"CQP7KADGB276YE6W6E2X6415TS0CGQ22XRYDCQ4H53T0VVN0X8HMZRA71ZAXJSNJ1QXGN21KY1HC651GNHWJRYETRZF1RSYB8243C1G\"}],\"signkey_sigs\":[{\"exchange_pub\":\"XN4JHHH8T71CDTQ90CW90PCNC4MNJ9STBHHZJDHPR5319B476Z8G\",\"master_sig\":\"S4ZK13B797AW8A49871ERCHBCQRHDQCYM490W12VRMVKS2FDDWH7Q3FDR0KGFJXPC6WWZS9KP9FS5PY47GHZW2BKWS6PHTKYZBNJC38\"}]}"

    public static let signOutputCompact = "[{\"operation\":\"exchange-upload-sigs-0\",\"arguments\":" + postBody + "}]"

    /// The parts of the `sign` output (`postBody`).
    public static let hDenomPub = "262SA7918FFF3RT264YES1V3CZEXX7PDB5JQ2NHJPHCDYB3KTRCBPHAPBVQWYNJHZ12G1YNRMH0G7YHPD51C4HS4HJ3EJ234RGFV898"
    public static let denomMasterSig = "CQP7KADGB276YE6W6E2X6415TS0CGQ22XRYDCQ4H53T0VVN0X8HMZRA71ZAXJSNJ1QXGN21KY1HC651GNHWJRYETRZF1RSYB8243C1G"
    public static let exchangePub = "XN4JHHH8T71CDTQ90CW90PCNC4MNJ9STBHHZJDHPR5319B476Z8G"
    public static let signkeyMasterSig = "S4ZK13B797AW8A49871ERCHBCQRHDQCYM490W12VRMVKS2FDDWH7Q3FDR0KGFJXPC6WWZS9KP9FS5PY47GHZW2BKWS6PHTKYZBNJC38"

    /// The offline-documents.md §10 pin file: RSA module key ‖ 32 zero bytes ‖ EdDSA module key.
    public static var pinBytes: [UInt8] {
        (try? key(seed: [UInt8](repeating: 1, count: 32)).publicKey + [UInt8](repeating: 0, count: 32)
            + key(seed: [UInt8](repeating: 2, count: 32)).publicKey) ?? []
    }
}
