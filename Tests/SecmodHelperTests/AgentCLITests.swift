import Foundation
import SecmodBase
import SecmodCrypto
import Testing

/// `secmod agent keys|sign|blind`: the operator's tool against a running agent; its SSHSIG
/// files are checked by `ssh-keygen -Y verify`, its blinded keys by the library's own
/// computation from the public key alone.
@Suite struct AgentCLITests {
    static func agent() throws -> AgentProcess {
        try AgentProcess(keys: [
            .init(name: "files", lines: "ALGORITHM = ed25519\nPURPOSES = sshsig:file\nCOMMENT = file signer"),
            .init(name: "onion", lines: "ALGORITHM = ed25519\nPURPOSES = tor-hs"),
        ])
    }

    @Test func keysSignAndBlind() throws {
        let agent = try Self.agent()
        try agent.start()
        let secmod = HelperProcess.binary("secmod")
        let listed = agent.run(secmod, ["agent", "keys", "-c", agent.configPath])
        #expect(listed.status == 0, "\(listed.output)")
        #expect(listed.output.contains("file signer (ssh-ed25519)") && listed.output.contains("onion (ssh-ed25519)"), "\(listed.output)")
        let lines = agent.run(secmod, ["agent", "keys", "-c", agent.configPath, "--public"]).output.split(separator: "\n").map(String.init)
        let fileKey = try #require(lines.first { $0.hasSuffix(" file signer") })
        let onionKey = try #require(lines.first { $0.hasSuffix(" onion") })

        // An SSHSIG file that ssh-keygen verifies.
        let work = try agent.workDirectory(for: nil)
        try "signer \(fileKey)\n".write(toFile: work + "/allowed", atomically: true, encoding: .utf8)
        let signed = agent.run("/bin/sh", ["-c", "printf 'release 1.0' | '\(secmod)' agent sign -c '\(agent.configPath)' -k 'file signer' -n file > '\(work)/release.sig'"])
        #expect(signed.status == 0, "\(signed.output)")
        let verified = agent.run("/usr/bin/ssh-keygen", ["-Y", "verify", "-f", work + "/allowed", "-I", "signer", "-n", "file", "-s", work + "/release.sig"],
                                 stdin: "release 1.0")
        #expect(verified.status == 0, "\(verified.output)")
        // The wrong namespace, raw signing, and the onion key: refused (exit 1, agent-refused).
        let wrong = agent.run("/bin/sh", ["-c", "printf x | '\(secmod)' agent sign -c '\(agent.configPath)' -k 'file signer' -n git --json"])
        #expect(wrong.status == 1 && wrong.output.contains("\"agent-refused\""), "\(wrong.output)")
        let raw = agent.run("/bin/sh", ["-c", "printf x | '\(secmod)' agent sign -c '\(agent.configPath)' -k onion --raw"])
        #expect(raw.status == 1, "\(raw.output)")

        // The blinded key of period 20000, and a signature under it.
        let blind = agent.run("/bin/sh", ["-c", "printf descriptor | '\(secmod)' agent blind -c '\(agent.configPath)' -k onion --period 20000 --sign"])
        #expect(blind.status == 0, "\(blind.output)")
        let out = blind.output.split(separator: "\n").map(String.init)
        let identity = try #require(Base64Decode.ed25519Key(onionKey))
        let expected = try OnionKeyBlinding.blindedPublicKey(identity, parameter:
            OnionKeyBlinding.parameter(identityKey: identity, periodNumber: 20000, periodLengthMinutes: 1440))
        #expect(out.first == Hex.encode(expected))
        #expect(Ed25519.verify(signature: Hex.decode(Substring(out.last ?? "")) ?? [], message: Array("descriptor".utf8), publicKey: expected))
        // No agent there: a clear failure, not a hang.
        let gone = agent.run(secmod, ["agent", "keys", "--socket", agent.root + "/nothing.sock", "--json"])
        #expect(gone.status == 1 && gone.output.contains("\"unavailable\""), "\(gone.output)")
        #expect(agent.stop() == 0)
    }
}

/// The 32-byte key of an `ssh-ed25519 AAAA… comment` line.
enum Base64Decode {
    static func ed25519Key(_ line: String) -> [UInt8]? {
        let fields = line.split(separator: " ")
        guard fields.count >= 2, let blob = Data(base64Encoded: String(fields[1])), blob.count == 51 else { return nil }
        return Array(blob.suffix(32))
    }
}
