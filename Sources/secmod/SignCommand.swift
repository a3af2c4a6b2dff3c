import ArgumentParser
import Foundation
import SecmodClient
import SecmodCrypto
import SecmodSystem
import SecmodWire

struct Sign: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sign standard input under a signature purpose with the helper's current key.",
        discussion: "The helper signs the 8-byte purpose header {size, purpose} followed by the input, as Taler does.")

    @OptionGroup var options: HelperOptions

    @Option(name: .long, help: "The GNUnet signature purpose number (0 is GNUNET_SIGNATURE_PURPOSE_TEST).")
    var purpose: UInt32

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    func run() throws {
        let body = [UInt8](FileHandle.standardInput.readDataToEndOfFile())
        let client = try connectEddsa(options)
        defer { client.disconnect() }
        let result: (publicKey: [UInt8], signature: [UInt8])
        do throws(SecmodError) { result = try client.sign(purpose: purpose, body: body, timeout: options.timeout) } catch {
            throw CLIError(error)
        }
        let pub = CrockfordBase32.encode(result.publicKey)
        let sig = CrockfordBase32.encode(result.signature)
        if json {
            print(jsonObject([("purpose", String(purpose)), ("public_key", jsonString(pub)), ("signature", jsonString(sig))]))
        } else {
            print("public_key \(pub)")
            print("signature \(sig)")
        }
    }
}

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Verify a signature over standard input, as `secmod sign` made it. Exits 1 if it does not verify.")

    @Option(name: .long, help: "The signing key, base32.")
    var publicKey: String

    @Option(name: .long, help: "The signature, base32.")
    var signature: String

    @Option(name: .long, help: "The signature purpose number.")
    var purpose: UInt32

    func run() throws {
        let body = [UInt8](FileHandle.standardInput.readDataToEndOfFile())
        let pub: [UInt8], sig: [UInt8]
        do throws(SecmodError) {
            pub = try CrockfordBase32.decode(publicKey, byteCount: 32)
            sig = try CrockfordBase32.decode(signature, byteCount: 64)
        } catch {
            throw CLIError(error)
        }
        let signed = EddsaSignRequest.purposeBytes(purpose: purpose, body: body)
        guard Ed25519.verify(signature: sig, message: signed, publicKey: pub) else {
            throw CLIError("signature does NOT verify")
        }
        print("signature verifies")
    }
}

struct Revoke: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Revoke a key: the helper purges it and announces a successor with the same anchor.")

    @OptionGroup var options: HelperOptions

    @Option(name: .long, help: "The key to revoke, base32.")
    var publicKey: String

    func run() throws {
        let pub: [UInt8]
        do throws(SecmodError) { pub = try CrockfordBase32.decode(publicKey, byteCount: 32) } catch { throw CLIError(error) }
        let client = try connectEddsa(options)
        defer { client.disconnect() }
        guard client.keys.contains(where: { $0.publicKey == pub }) else {
            throw CLIError("the helper does not announce key \(publicKey)")
        }
        do throws(SecmodError) {
            try client.revoke(publicKey: pub)
            let deadline = Clock.monotonicMicroseconds() + UInt64((options.timeout ?? 10) * 1_000_000)
            while client.keys.contains(where: { $0.publicKey == pub }) && Clock.monotonicMicroseconds() < deadline {
                try client.waitForEvents(seconds: 0.2)
            }
        } catch {
            throw CLIError(error)
        }
        guard !client.keys.contains(where: { $0.publicKey == pub }) else { throw CLIError("no PURGE arrived for \(publicKey)") }
        print("revoked \(publicKey)")
    }
}
