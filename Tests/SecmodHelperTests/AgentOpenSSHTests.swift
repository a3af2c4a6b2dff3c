import Foundation
import SecmodAgentClient
import SecmodBase
import SecmodWire
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `secmod-agent` driven by OpenSSH's own clients (Debian 12's OpenSSH 9.2), run as the
/// suite's non-root test users against an agent running as a third one.
@Suite(.serialized, .enabled(if: TestUsers.canCreate && FileManager.default.isExecutableFile(atPath: "/usr/bin/ssh-keygen"),
                             "needs root (test users) and OpenSSH's client tools"))
struct AgentOpenSSHTests {
    /// Keys for the client user (login, rsa), for the other user (other), for both (onion).
    static func agent() throws -> AgentProcess {
        let client = try TestUsers.client, other = try TestUsers.stranger
        return try AgentProcess(keys: [
            .init(name: "login", lines: "ALGORITHM = ed25519\nPURPOSES = ssh-auth sshsig:file\nCLIENT_USERS = \(client.name)\nCOMMENT = client login"),
            .init(name: "rsa", lines: "ALGORITHM = rsa-3072\nPURPOSES = ssh-auth sshsig:file\nCLIENT_USERS = \(client.name)"),
            .init(name: "git", lines: "ALGORITHM = ed25519\nPURPOSES = sshsig:git\nCLIENT_USERS = \(client.name)"),
            .init(name: "other", lines: "ALGORITHM = ed25519\nPURPOSES = any\nCLIENT_USERS = \(other.name)"),
        ])
    }

    @Test func sshAddListsExactlyTheKeysTheCallerMayUse() throws {
        let agent = try Self.agent()
        try agent.start(as: try TestUsers.helper)
        let client = try TestUsers.client, other = try TestUsers.stranger
        let mine = agent.run("/usr/bin/ssh-add", ["-L"], as: client)
        #expect(mine.status == 0, "\(mine.output)")
        let comments = mine.output.split(separator: "\n").map { $0.split(separator: " ").dropFirst(2).joined(separator: " ") }
        // In the order of the configuration's key sections, sorted by name.
        #expect(comments == ["git", "client login", "rsa"], "\(mine.output)")
        #expect(mine.output.split(separator: "\n").map { $0.split(separator: " ")[0] } == ["ssh-ed25519", "ssh-ed25519", "ssh-rsa"])
        let theirs = agent.run("/usr/bin/ssh-add", ["-L"], as: other)
        #expect(theirs.output.split(separator: "\n").map { $0.split(separator: " ").dropFirst(2).joined(separator: " ") } == ["other"], "\(theirs.output)")
        // ssh-add -l: fingerprints as OpenSSH computes them, equal to the agent's log lines.
        let fingerprints = agent.run("/usr/bin/ssh-add", ["-l"], as: client)
        for line in fingerprints.output.split(separator: "\n") {
            let fingerprint = String(line.split(separator: " ")[1])
            #expect(agent.log.contains(fingerprint), "\(fingerprint) is not in the agent's log")
        }
        #expect(agent.stop() == 0)
    }

    @Test func sshKeygenSignsAndVerifiesOnlyInAllowedNamespaces() throws {
        let agent = try Self.agent()
        try agent.start(as: try TestUsers.helper)
        let client = try TestUsers.client
        let work = try agent.workDirectory(for: client)
        let listed = agent.run("/usr/bin/ssh-add", ["-L"], as: client).output.split(separator: "\n").map(String.init)
        let keys = ["login": listed.first { $0.hasSuffix(" client login") }, "rsa": listed.first { $0.hasSuffix(" rsa") },
                    "git": listed.first { $0.hasSuffix(" git") }]
        try "hello from the vault\n".write(toFile: work + "/message", atomically: true, encoding: .utf8)
        for name in ["login", "rsa", "git"] {
            let key = try #require(keys[name] ?? nil, "ssh-add -L: \(listed)")
            let pub = work + "/\(name).pub"
            try (key + "\n").write(toFile: pub, atomically: true, encoding: .utf8)
            try "signer \(key)\n".write(toFile: work + "/\(name).allowed", atomically: true, encoding: .utf8)
            _ = try? FileManager.default.removeItem(atPath: work + "/message.sig")
            let signed = agent.run("/usr/bin/ssh-keygen", ["-Y", "sign", "-f", pub, "-n", "file", "message"], as: client, in: work)
            if name == "git" {
                // git's key may sign in namespace git only.
                #expect(signed.status != 0, "\(signed.output)")
                #expect(!FileManager.default.fileExists(atPath: work + "/message.sig"))
                let git = agent.run("/usr/bin/ssh-keygen", ["-Y", "sign", "-f", pub, "-n", "git", "message"], as: client, in: work)
                #expect(git.status == 0, "\(git.output)")
                let verified = agent.run("/usr/bin/ssh-keygen", ["-Y", "verify", "-f", work + "/git.allowed", "-I", "signer", "-n", "git",
                                                                 "-s", work + "/message.sig"], as: client, in: work, stdin: "hello from the vault\n")
                #expect(verified.status == 0, "\(verified.output)")
                continue
            }
            #expect(signed.status == 0, "\(name): \(signed.output)")
            let verified = agent.run("/usr/bin/ssh-keygen", ["-Y", "verify", "-f", work + "/\(name).allowed", "-I", "signer", "-n", "file",
                                                             "-s", work + "/message.sig"], as: client, in: work, stdin: "hello from the vault\n")
            #expect(verified.status == 0, "\(name): \(verified.output)")
            // The same signature does not verify for another message.
            let forged = agent.run("/usr/bin/ssh-keygen", ["-Y", "verify", "-f", work + "/\(name).allowed", "-I", "signer", "-n", "file",
                                                           "-s", work + "/message.sig"], as: client, in: work, stdin: "hello from someone else\n")
            #expect(forged.status != 0)
            // Namespace "other" is not the key's purpose.
            _ = try? FileManager.default.removeItem(atPath: work + "/message.sig")
            let refused = agent.run("/usr/bin/ssh-keygen", ["-Y", "sign", "-f", pub, "-n", "other", "message"], as: client, in: work)
            #expect(refused.status != 0)
        }
        let log = agent.log
        #expect(log.contains("refused (purpose)"))
        #expect(log.contains("may not sign an SSHSIG in namespace \"other\"") || log.contains("may not sign an SSHSIG in namespace \"file\""))
        #expect(agent.stop() == 0)
        // Counted per key and purpose, exactly after the clean stop.
        let counts = try String(contentsOfFile: agent.root + "/audit/login.sshsig_file.count", encoding: .utf8)
        #expect(counts.contains("signatures = 1\n") && counts.contains("state = closed"), "\(counts)")
    }

    @Test func theLegacySHA1SchemeIsRefusedUnlessTheKeyAllowsIt() throws {
        let agent = try AgentProcess(keys: [
            .init(name: "modern", lines: "ALGORITHM = rsa-3072\nPURPOSES = any"),
            .init(name: "legacy", lines: "ALGORITHM = rsa-3072\nPURPOSES = any\nALLOW_SHA1 = yes"),
        ])
        try agent.start()
        let work = try agent.workDirectory(for: nil)
        let keys = agent.run("/usr/bin/ssh-add", ["-L"]).output.split(separator: "\n").map(String.init)
        #expect(keys.count == 2)
        // ssh-add -T signs with flags 0 (SHA-1 ssh-rsa) on RSA keys.
        for (line, allowed) in zip(keys, [true, false]) {  // sorted by name: legacy, modern
            try (line + "\n").write(toFile: work + "/key.pub", atomically: true, encoding: .utf8)
            let tested = agent.run("/usr/bin/ssh-add", ["-T", work + "/key.pub"])
            #expect((tested.status == 0) == allowed, "\(line.suffix(20)): \(tested.output)")
        }
        #expect(agent.log.contains("refused (sha1-not-allowed)"))
        #expect(agent.stop() == 0)
    }
}

/// `ssh` logging in to an `sshd` on loopback through `secmod-agent`: Ed25519 and RSA keys
/// with `ssh-auth`; a key without it is refused by the agent even where the server would
/// take it. ssh binds its connection to the server's host key first
/// (`session-bind@openssh.com`), which the agent verifies and logs.
@Suite(.serialized, .enabled(if: TestUsers.canCreate && SSHServer.available, "needs root, sshd (openssh-server) and ssh"))
struct AgentLoginTests {
    static func agent(_ user: TestUsers.Account) throws -> AgentProcess {
        try AgentProcess(keys: [
            .init(name: "ed", lines: "ALGORITHM = ed25519\nPURPOSES = ssh-auth\nCLIENT_USERS = \(user.name)"),
            .init(name: "rsa", lines: "ALGORITHM = rsa-3072\nPURPOSES = ssh-auth\nCLIENT_USERS = \(user.name)"),
            .init(name: "signing-only", lines: "ALGORITHM = ed25519\nPURPOSES = sshsig:file\nCLIENT_USERS = \(user.name)"),
        ])
    }

    @Test func sshLogsInWithEd25519AndRSAKeysAndNotWithoutSSHAuth() throws {
        let user = try TestUsers.sshUser
        let agent = try Self.agent(user)
        try agent.start(as: try TestUsers.helper)
        let listed = agent.run("/usr/bin/ssh-add", ["-L"], as: user)
        #expect(listed.status == 0, "\(listed.output)")
        func key(_ comment: String) throws -> String {
            try #require(listed.output.split(separator: "\n").first { $0.hasSuffix(" " + comment) }.map(String.init), "\(listed.output)")
        }
        for (name, expected) in [("ed", Int32(0)), ("rsa", 0), ("signing-only", 255)] {
            // The server takes only this key, so ssh must get the agent to sign with it.
            let server = try SSHServer(authorizedKeys: [try key(name)])
            let login = server.login(as: user, agentSocket: agent.socketPath)
            #expect(login.status == expected, "\(name): \(login.output)\n\(server.log)")
            if expected == 0 {
                #expect(server.log.contains("Accepted publickey for \(user.name)"), "\(server.log)")
            }
            #expect(agent.log.contains("bound to host key \(server.hostKeyFingerprint)"), "\(agent.log)")
        }
        #expect(agent.log.contains("key signing-only may not sign an SSH user authentication"))
        #expect(agent.stop() == 0)
        for name in ["ed", "rsa"] {
            let counts = try String(contentsOfFile: agent.root + "/audit/\(name).ssh-auth.count", encoding: .utf8)
            #expect(counts.contains("signatures = 1\n"), "\(name): \(counts)")
        }
    }
}
