import Foundation
import Testing

/// docs/man/secmod.1 is generated (contrib/update-man-pages.sh) and committed: it must name
/// every subcommand secmod has, and the completion scripts secmod prints must too.
@Suite struct ManPageTests {
    static let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/man").path

    /// secmod's subcommands, from its own help.
    static func subcommands() -> [String] {
        let help = GnunetReferee.run(HelperProcess.binary("secmod"), ["--help"]).output
        guard let start = help.range(of: "SUBCOMMANDS:") else { return [] }
        return help[start.upperBound...].split(separator: "\n").compactMap { line in
            let trimmed = line.drop { $0 == " " }
            guard line.hasPrefix("  "), !line.hasPrefix("   "), let word = trimmed.split(separator: " ").first, word.allSatisfy({ $0.isLowercase }) else { return nil }
            return String(word)
        }
    }

    @Test func manPageNamesEverySubcommand() throws {
        let page = try String(contentsOfFile: Self.docs + "/secmod.1", encoding: .utf8)
        let commands = Self.subcommands()
        #expect(commands.count >= 10, "\(commands)")
        for command in commands where command != "help" {
            #expect(page.contains(".It Em \(command)"), "docs/man/secmod.1 lacks \(command): run contrib/update-man-pages.sh")
        }
    }

    @Test(arguments: ["bash", "zsh", "fish"])
    func completionScriptsNameEverySubcommand(shell: String) {
        let run = GnunetReferee.run(HelperProcess.binary("secmod"), ["--generate-completion-script", shell])
        #expect(run.status == 0)
        for command in Self.subcommands() where command != "help" {
            #expect(run.output.contains(command), "\(shell) completion lacks \(command)")
        }
    }
}
