import Foundation
import Testing

/// A second client in another language: paramiko (Debian's python3-paramiko) lists the
/// agent's keys and has each sign, checking the signatures itself; the blinding
/// extensions' signatures are verified by pyca/cryptography's Ed25519 (OpenSSL's) under the
/// blinded key (Tests/Probes/agent-interop.py).
@Suite(.enabled(if: Paramiko.available, "needs /usr/bin/python3 with paramiko (python3-paramiko)"))
struct AgentInteropTests {
    static let python = Paramiko.python
    static var script: String { Probes.directory + "/agent-interop.py" }

    @Test func paramikoListsAndSignsWithEd25519AndRSA() throws {
        let agent = try AgentProcess(keys: [
            .init(name: "ed", lines: "ALGORITHM = ed25519\nPURPOSES = any"),
            .init(name: "rsa", lines: "ALGORITHM = rsa-3072\nPURPOSES = any"),
            .init(name: "auth-only", lines: "ALGORITHM = ed25519\nPURPOSES = ssh-auth"),
        ])
        try agent.start()
        // paramiko signs raw data: the `any` keys sign it, the ssh-auth key refuses.
        let result = agent.run(Self.python, [Self.script, "list-and-sign"])
        let lines = result.output.split(separator: "\n")
        #expect(lines.filter { $0.hasPrefix("ok ssh-ed25519") }.count == 1, "\(result.output)")
        #expect(lines.filter { $0.hasPrefix("ok ssh-rsa") }.count == 1, "\(result.output)")
        #expect(result.status == 0, "\(result.output)")
        #expect(lines.filter { $0.hasPrefix("refused ssh-ed25519") }.count == 1, "the ssh-auth key signed raw data: \(result.output)")
        #expect(agent.log.contains("key auth-only may not sign"))
        #expect(agent.stop() == 0)
    }

    @Test func blindedSignaturesVerifyUnderTheBlindedKeyWithAnotherEd25519() throws {
        let agent = try AgentProcess(keys: [.init(name: "onion", lines: "ALGORITHM = ed25519\nPURPOSES = tor-hs")])
        try agent.start()
        let result = agent.run(Self.python, [Self.script, "blind", "onion"])
        #expect(result.status == 0, "\(result.output)")
        let blinded = result.output.split(separator: "\n").filter { $0.hasPrefix("ok blinded") }.map { $0.split(separator: " ")[3] }
        #expect(blinded.count == 2 && blinded[0] != blinded[1], "\(result.output)")
        #expect(agent.stop() == 0)
        let counts = try String(contentsOfFile: agent.root + "/audit/onion.tor-hs.count", encoding: .utf8)
        #expect(counts.contains("signatures = 4\n"), "\(counts)")
    }
}

/// Debian's Python with paramiko and pyca/cryptography (contrib/deps.sh installs them).
enum Paramiko {
    static let python = "/usr/bin/python3"
    static let available = FileManager.default.isExecutableFile(atPath: python)
        && GnunetReferee.run(python, ["-c", "import paramiko, cryptography"]).status == 0
}
