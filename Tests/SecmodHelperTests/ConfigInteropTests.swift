import Foundation
import SecmodConfig
import SecmodSystem
import Testing

/// Our configuration must resolve a helper's files exactly as libgnunetutil resolves them
/// for Taler's C helpers and clients (wire.md §9.1, §13.1): otherwise the exchange and our
/// helper look for each other's socket in different places.
@Suite(.serialized) struct ConfigInteropTests {
    static let etc = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("etc/config.d").path

    static let options: [(String, String)] = [
        ("taler-exchange-secmod-rsa", "UNIXPATH"), ("taler-exchange-secmod-rsa", "KEY_DIR"),
        ("taler-exchange-secmod-rsa", "SM_PRIV_KEY"), ("taler-exchange-secmod-eddsa", "UNIXPATH"),
        ("taler-exchange-secmod-eddsa", "KEY_DIR"), ("taler-exchange-secmod-eddsa", "SM_PRIV_KEY"),
    ]

    /// name → (main file, extra files it includes)
    static let cases: [(String, String, [(String, String)])] = [
        ("taler's own test configuration", """
            [PATHS]
            TALER_TEST_HOME = test_helper_rsa_home/
            [coin_1]
            DURATION_WITHDRAW = 1 minute
            CIPHER = RSA
            RSA_KEYSIZE = 2048
            [taler-exchange-secmod-rsa]
            LOOKAHEAD_SIGN = 5 minutes
            OVERLAP_DURATION = 1 s
            """, []),
        ("debian paths", """
            [PATHS]
            TALER_RUNTIME_DIR = /run/taler/
            TALER_DATA_HOME = /var/lib/taler/
            """, []),
        ("include, nested defaults, environment", """
            @INLINE@ sub/paths.conf
            [taler-exchange-secmod-eddsa]
            UNIXPATH = ${SECMOD_TEST_RUN:-${SECMOD_TEST_UNSET:-/var/tmp}}/eddsa.sock
            KEY_DIR = ${SECMOD_TEST_BASE}/keys
            """, [("sub/paths.conf", "[PATHS]\nTALER_DATA_HOME = $SECMOD_TEST_BASE/data/\n")]),
        ("case, quotes, comments, overrides", """
            # a comment
            % another comment
            [Taler-Exchange-Secmod-RSA]
            unixpath = "/quoted/rsa.sock"
               KEY_DIR   =   /first/keys
            Key_Dir = /second/keys
            [PATHS]
            taler_home = /home/operator
            """, []),
        ("tilde and relative paths", """
            [taler-exchange-secmod-rsa]
            SM_PRIV_KEY = ~/sm/rsa.key
            KEY_DIR = relative/keys
            [taler-exchange-secmod-eddsa]
            KEY_DIR = $TALER_HOME/eddsa-keys
            UNIXPATH = ${TALER_RUNTIME_DIR}x/../y/eddsa.sock
            """, []),
    ]

    @Test(arguments: 0..<cases.count)
    func resolvesLikeLibgnunetutil(index: Int) throws {
        let (name, text, includes) = Self.cases[index]
        let dir = FileManager.default.temporaryDirectory.path + "/secmod-config-interop-\(getpid())-\(index)"
        try FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/main.conf"
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        for (path, content) in includes { try content.write(toFile: dir + "/" + path, atomically: true, encoding: .utf8) }

        var environment = ProcessInfo.processInfo.environment
        environment["SECMOD_TEST_BASE"] = "/srv/secmod"
        environment["SECMOD_TEST_RUN"] = nil
        environment["SECMOD_TEST_UNSET"] = nil
        environment["HOME"] = "/home/tester"
        environment["TMPDIR"] = nil
        environment["TALER_BASE_CONFIG"] = Self.etc

        let ours = try TalerConfiguration.load(file: file, environment: environment)
        let referee = try GnunetReferee.binary("gnunet-config-check").get()
        let p = Process()
        p.executableURL = URL(fileURLWithPath: referee)
        p.arguments = [Self.etc, file] + Self.options.flatMap { [$0.0, $0.1] }
        p.environment = environment
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "libgnunetutil could not load \(name)")
        let theirs = output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for (i, (section, option)) in Self.options.enumerated() {
            let mine = try ours.filename(section: section, option: option) ?? "<unset>"
            #expect(mine == theirs[i], "\(name): [\(section)] \(option)")
        }
    }
}
