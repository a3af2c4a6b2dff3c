import SecmodBase
import SecmodClient
import SecmodCrypto
import SecmodSystem

/// The operations the RSA benchmark repeats, one per measurement.
enum RsaWorkloads {
    /// A blinded message as a wallet sends it: a random integer below n of n's full length
    /// (blinding makes it uniform mod n), so every exponentiation has full-size operands.
    static func blindedMessage(modulus: [UInt8]) -> [UInt8] {
        var m = randomBytes(modulus.count)
        m[0] = m[0] % modulus[0]  // below n's top byte, so m < n; n has no leading zero
        if m.allSatisfy({ $0 == 0 }) { m[m.count - 1] = 1 }  // the helper refuses 0
        return m
    }

    /// The private-key operation in this process with one shared key, as the helper's
    /// workers share it: `RsaPrivateKey.sign` with its m < n check and its verification of
    /// the result, which the helper pays on every signature too.
    static func inProcessSigning(key: RsaPrivateKey) -> @Sendable (Int) -> Operation {
        { _ in
            let message = blindedMessage(modulus: key.publicKey.modulus)
            return { () throws(SecmodError) in
                _ = try key.sign(blindedMessage: message)
            }
        }
    }

    /// One blocking client per thread doing single SIGN round trips, as an exchange thread
    /// withdrawing one coin does.
    static func helperSigning(endpoint: HelperEndpoint, key: RsaDenominationKey) throws(SecmodError) -> @Sendable (Int) throws(SecmodError) -> Operation {
        let hash = key.hash
        let modulus = try RsaPublicKey(encoded: key.publicKey).modulus
        return { (_: Int) throws(SecmodError) -> Operation in
            let client = RsaHelperClient(socketPath: endpoint.path, transport: endpoint.transport)
            try client.connect(timeout: .seconds(20))
            let message = blindedMessage(modulus: modulus)
            return { () throws(SecmodError) in
                _ = try client.sign(hash: hash, blindedMessage: message)  // no deadline, as the exchange calls it
            }
        }
    }

    /// One blocking client per thread sending `size` requests per `batchSign`, as a wallet's
    /// withdrawal of many coins reaches the helper. The client library splits a batch into
    /// messages under 64 KiB and sends them one round trip after another.
    static func helperBatchSigning(endpoint: HelperEndpoint, key: RsaDenominationKey, size: Int) throws(SecmodError) -> @Sendable (Int) throws(SecmodError) -> Operation {
        let hash = key.hash
        let modulus = try RsaPublicKey(encoded: key.publicKey).modulus
        return { (_: Int) throws(SecmodError) -> Operation in
            let client = RsaHelperClient(socketPath: endpoint.path, transport: endpoint.transport)
            try client.connect(timeout: .seconds(20))
            let items = (0..<size).map { _ in RsaSignRequestItem(hash: hash, blindedMessage: blindedMessage(modulus: modulus)) }
            return { () throws(SecmodError) in
                for result in try client.batchSign(items) {
                    if case let .failure(error) = result { throw error }
                }
            }
        }
    }
}
