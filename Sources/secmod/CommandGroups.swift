import ArgumentParser

/// `secmod helper …`: every command that talks to a running helper or reads its files, on the
/// machine the helpers run on. Unambiguous forms of the top-level commands of the same names.
struct HelperGroup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "helper",
        abstract: "Commands for the machine the helpers run on: keys, sign, verify, revoke, audit, takeover.",
        subcommands: [Keys.self, HelperSign.self, Verify.self, Revoke.self, Audit.self, Takeover.self])
}

/// `secmod offline …`: the offline signer's commands, as `taler-exchange-offline` groups them.
/// `offline sign` only ever signs a future-keys document with the master key.
struct OfflineGroup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "offline",
        abstract: "Commands for the offline signer: setup, download, show, sign, upload (as taler-exchange-offline).",
        subcommands: [OfflineSetup.self, OfflineDownload.self, OfflineShow.self, OfflineSignCommand.self, OfflineUpload.self])
}

/// `secmod helper sign`: signs standard input through a helper; `--helper` is required.
struct HelperSign: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign",
        abstract: "Sign standard input with a helper's key.",
        discussion: """
            eddsa: signs the 8-byte purpose header {size, purpose} followed by the input, with the
            helper's current key, as Taler does. rsa: blind-signs the input, read as the blinded
            message (a big-endian integer below n), with the key named by --key (h_rsa), or the
            oldest currently valid key (of --section, if given). cs: asks for R0, R1 of a nonce
            (--nonce, or a random one), then blind-signs the challenges c0 || c1 = SHA-512(input)
            and prints b and s.
            """)

    @Option(name: .long, help: "Which helper signs: eddsa, rsa or cs.")
    var helper: HelperKind

    @Option(name: [.customShort("c"), .long], help: "Configuration file (as given to the helper).")
    var config: String?

    @Option(name: .long, help: "Give up after this many seconds; 0 waits as long as it takes.")
    var timeout: Double = defaultHelperTimeout

    @OptionGroup var signing: HelperSigningOptions

    func validate() throws { try validateTimeout(timeout) }

    func run() throws {
        try HelperSigning(helper: helper, config: config, timeout: timeout, options: signing).run()
    }
}

/// `secmod offline sign`: signs the future keys `download` wrote with the offline master key.
struct OfflineSignCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign",
        abstract: "Sign future keys with the offline master key.",
        discussion: """
            Reads the document `download` wrote (FILE, or standard input), checks it against the
            master key ([exchange-offline] MASTER_PRIV_FILE, mode 0400) and the pinned security
            module keys ([exchange-offline] SECM_TOFU_FILE, written on first use after checking
            the SECM_*_PUBKEY options), verifies every module signature, and writes the
            exchange-upload-sigs-0 document for `upload`, byte for byte as
            taler-exchange-offline does. Any problem: exit 1, no output. See docs/offline-signing.md.
            """)

    @Option(name: [.customShort("c"), .long], help: "Configuration file.")
    var config: String?

    @Argument(help: "The future-keys document; '-' or nothing for standard input.")
    var input: String?

    @Option(name: [.customShort("o"), .long], help: "Write to this file instead of standard output.")
    var output: String?

    func run() throws {
        try OfflineSign.run(config: config, input: input, output: output)
    }
}
