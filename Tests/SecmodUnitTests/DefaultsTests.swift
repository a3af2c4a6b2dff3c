import Foundation
import SecmodBase
import SecmodConfig
import SecmodSystem
import Testing

@Suite struct DefaultsTests {
    static let etc = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("etc/config.d").path

    /// The compiled-in defaults must be exactly what `etc/config.d` installs.
    @Test func builtinDefaultsMatchEtc() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.etc).filter { $0.hasSuffix(".conf") }.sorted()
        #expect(BuiltinDefaults.files.map(\.name).sorted() == names)
        for (name, text) in BuiltinDefaults.files {
            #expect(try String(contentsOfFile: Self.etc + "/" + name, encoding: .utf8) == text, "\(name) differs")
        }
    }

    /// Wire spec §13.1: Taler's test configuration resolves to these paths.
    @Test func talerTestConfigurationResolvesLikeTaler() throws {
        let dir = try ConfigScratchDirectory()
        let file = try dir.write("test_helper_eddsa.conf", """
            [PATHS]
            TALER_TEST_HOME = test_helper_eddsa_home/
            [taler-exchange-secmod-eddsa]
            CLIENT_DIR = $TALER_RUNTIME_DIR
            LOOKAHEAD_SIGN = 5 minutes
            OVERLAP_DURATION = 1 s
            DURATION = 1 minute
            """)
        let c = try TalerConfiguration.load(file: file, environment: ["HOME": "/home/x"])
        let cwd = FileManager.default.currentDirectoryPath
        let s = "taler-exchange-secmod-eddsa"
        #expect(try c.filename(section: s, option: "KEY_DIR") == cwd + "/test_helper_eddsa_home/taler//exchange-secmod-eddsa/keys")
        #expect(try c.filename(section: s, option: "SM_PRIV_KEY") == cwd + "/test_helper_eddsa_home/taler//exchange-secmod-eddsa/secmod-private-key")
        #expect(try c.filename(section: s, option: "UNIXPATH") == "/tmp/taler-system-runtime//exchange-secmod-eddsa/server.sock")
        #expect(try c.time(section: s, option: "DURATION") == RelativeTime(seconds: 60))
    }

    @Test func prefixStripping() {
        #expect(TalerConfiguration.defaultsDirectory(environment: ["TALER_BASE_CONFIG": "/x/y"]) == "/x/y")
    }
}

@Suite struct PrefixTests {
    @Test(arguments: [("/usr/local/lib", "/usr/local/"), ("/usr/local/lib/", "/usr/local/"),
                      ("/usr/lib/x86_64-linux-gnu/", "/usr/"), ("/opt/taler", "/opt/taler/")])
    func stripsLibrary(input: String, expected: String) {
        #expect(TalerConfiguration.stripLibrarySuffix(input) == expected)
    }

    /// Where the defaults are looked for, from the program's own path: `<prefix>/bin/` as
    /// contrib/install.sh puts it, `<prefix>/lib/swift-secmod/bin/` as the Debian package does.
    @Test(arguments: [("/usr/local/bin/secmod", "/usr/local"), ("/usr/bin/secmod", "/usr"),
                      ("/usr/lib/swift-secmod/bin/taler-exchange-secmod-rsa", "/usr"),
                      ("/opt/x/lib/pkg/bin/taler-exchange-secmod-eddsa", "/opt/x"),
                      ("/work/.build/release/secmod", nil), ("/usr/libexec/secmod", nil)])
    func installationPrefix(executable: String, expected: String?) {
        #expect(TalerConfiguration.installationPrefix(executable: executable) == expected)
    }
}
