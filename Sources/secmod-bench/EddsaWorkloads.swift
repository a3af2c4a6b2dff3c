import SecmodBase
import SecmodClient
import SecmodCrypto
import SecmodSystem
import SecmodWire

/// The operations the EdDSA benchmark repeats, one per measurement.
enum EddsaWorkloads {
    /// TALER_SIGNATURE_EXCHANGE_CONFIRM_DEPOSIT: what the exchange signs most often.
    static let purpose: UInt32 = 1033

    /// A typical exchange purpose: the 8-byte {size, purpose} header and a 32-byte hash.
    static func purposeBytes() -> [UInt8] {
        EddsaSignRequest.purposeBytes(purpose: purpose, body: randomBytes(32))
    }

    /// libsodium signing in this process with one shared key, as the helper's workers share it.
    static func inProcessSigning(key: Ed25519PrivateKey) -> @Sendable (Int) -> Operation {
        { _ in
            let message = purposeBytes()
            return {
                let signature = key.sign(message)
                precondition(signature.count == 64)
            }
        }
    }

    /// Signature verification, which `EddsaHelperClient.sign` does on every reply: it is
    /// client CPU that competes with the helper when both share the machine.
    static func verification(key: Ed25519PrivateKey) -> @Sendable (Int) -> Operation {
        { _ in
            let message = purposeBytes()
            let signature = key.sign(message)
            let publicKey = key.publicKey
            return { () throws(SecmodError) in
                guard Ed25519.verify(signature: signature, message: message, publicKey: publicKey) else {
                    throw SecmodError(.crypto, "a fresh signature did not verify")
                }
            }
        }
    }

    /// One blocking client per thread doing sign round-trips, as an exchange thread does.
    /// `verify` turns on the client's check of every signature, which costs the client more
    /// CPU than the helper spends signing.
    static func helperSigning(endpoint: HelperEndpoint, verify: Bool) -> @Sendable (Int) throws(SecmodError) -> Operation {
        { (_: Int) throws(SecmodError) -> Operation in
            let client = EddsaHelperClient(socketPath: endpoint.path, transport: endpoint.transport)
            client.verifiesSignatures = verify
            try client.connect(timeout: .seconds(20))
            let message = purposeBytes()
            return { () throws(SecmodError) in
                _ = try client.sign(purposeBytes: message)  // no deadline, as the exchange calls it
            }
        }
    }

    /// The same round trips through `RawEddsaClient`: no verification, no poll, no allocation.
    static func rawHelperSigning(socketPath: String) -> @Sendable (Int) throws(SecmodError) -> Operation {
        { (_: Int) throws(SecmodError) -> Operation in
            let client = try RawEddsaClient(socketPath: socketPath, purposeBytes: purposeBytes())
            return { () throws(SecmodError) in try client.sign() }
        }
    }
}
