import Foundation
import SecmodBase
import SecmodConfig
import SecmodSystem
import Testing

@Suite("Configuration $-expansion and filenames")
struct ConfigExpansionTests {
    private var cwdSlash: String {
        let cwd = configTestCurrentDirectory()
        return cwd.hasSuffix("/") ? cwd : cwd + "/"
    }

    @Test func pathsVariableMakesRelativeFilenameAbsolute() throws {
        var config = Configuration(environment: [:])
        try config.load(text: "[PATHS]\nFOO = bar\n[x]\nFILE = $FOO/x\n", fileName: "p.conf")
        #expect(try config.filename(section: "x", option: "FILE") == cwdSlash + "bar/x")
        #expect(try config.string(section: "x", option: "FILE") == "bar/x")
        #expect(config.rawValue(section: "x", option: "FILE") == "$FOO/x")
    }

    @Test func pathsWinsOverEnvironmentAndNamesFoldOnlyInPaths() throws {
        var config = Configuration(environment: ["DIR": "/from/env", "ENVONLY": "/env", "lower": "/lower"])
        try config.load(text: "[paths]\ndir = /from/paths\n", fileName: "p.conf")
        #expect(try config.expand("$DIR/a") == "/from/paths/a")
        #expect(try config.expand("${Dir}/a") == "/from/paths/a")
        #expect(try config.expand("${ENVONLY}/b") == "/env/b")
        // Environment names are case-sensitive.
        #expect(try config.expand("$LOWER/c") == "$LOWER/c")
        #expect(try config.expand("$lower/c") == "/lower/c")
    }

    @Test func plainVariableNameEndsAtSlashBackslashOrSpace() throws {
        let config = Configuration(environment: ["A": "1", "A.B": "dotted"])
        #expect(try config.expand("$A/x") == "1/x")
        #expect(try config.expand("$A\\x") == "1\\x")
        #expect(try config.expand("$A x") == "1 x")
        #expect(try config.expand("$A") == "1")
        #expect(try config.expand("$A.B/x") == "dotted/x")
        #expect(try config.expand("pre-$A/post") == "pre-1/post")
        #expect(try config.expand("${A}x") == "1x")
    }

    @Test func nestedDefaults() throws {
        let value = "${TMPDIR:-${TMP:-/tmp}}/run"
        #expect(try Configuration(environment: [:]).expand(value) == "/tmp/run")
        #expect(try Configuration(environment: ["TMP": "/t"]).expand(value) == "/t/run")
        #expect(try Configuration(environment: ["TMP": "/t", "TMPDIR": "/td"]).expand(value) == "/td/run")
        // GNUnet: a variable that is set but empty is *set*; the default is not used.
        #expect(try Configuration(environment: ["TMPDIR": ""]).expand(value) == "/run")
        // `:=` and a bare `:` behave like `:-`; an empty default gives the empty string.
        #expect(try Configuration(environment: [:]).expand("${X:=a}|${X:b}|${X:-}|") == "a|b||")
        // A default containing further variables and text.
        #expect(try Configuration(environment: ["HOME": "/h"]).expand("${X:-$HOME/.local}/s") == "/h/.local/s")
    }

    @Test func undefinedVariablesAreLeftLiterally() throws {
        let config = Configuration(environment: ["HOME": "/home/u"])
        #expect(try config.expand("$UNDEFINED/x") == "$UNDEFINED/x")
        #expect(try config.expand("${UNDEFINED}/x") == "${UNDEFINED}/x")
        #expect(try config.expand("${UNCLOSED/x") == "${UNCLOSED/x")
        // GNUnet reads `UNDEFINED$HOME` as one name, leaves it, then expands `$HOME`.
        #expect(try config.expand("$UNDEFINED$HOME") == "$UNDEFINED/home/u")
        #expect(try config.expand("costs 5$") == "costs 5$")
    }

    @Test func environmentValuesAreExpandedToo() throws {
        let config = Configuration(environment: ["OUTER": "$INNER/o", "INNER": "/i"])
        #expect(try config.expand("$OUTER") == "/i/o")
    }

    @Test func cyclesAreErrorsNotHangs() throws {
        var config = Configuration(environment: ["SELF": "$SELF/x"])
        try config.load(text: """
            [PATHS]
            A = $B/a
            B = ${C}/b
            C = $A
            LOOP = $LOOP
            [s]
            DIR = $A/dir
            """, fileName: "cycle.conf")
        for value in ["$A", "${LOOP}", "$SELF", "x/${NOPE:-$B}"] {
            let error = configError { () throws(SecmodError) in _ = try config.expand(value) }
            #expect(error?.code == .configValue, "\(value)")
            #expect(error?.message.contains("refers back to itself") == true, "\(String(describing: error))")
        }
        let error = configError { () throws(SecmodError) in _ = try config.filename(section: "s", option: "dir") }
        #expect(error?.message.hasPrefix("cycle.conf:7: [s] DIR: ") == true, "\(String(describing: error))")
    }

    @Test func deepDefaultNestingIsAnError() throws {
        let deep = String(repeating: "${U:-", count: 200) + "x" + String(repeating: "}", count: 200)
        let error = configError { () throws(SecmodError) in _ = try Configuration(environment: [:]).expand(deep) }
        #expect(error?.code == .configValue)
        let shallow = String(repeating: "${U:-", count: 20) + "x" + String(repeating: "}", count: 20)
        #expect(try Configuration(environment: [:]).expand(shallow) == "x")
    }

    @Test func doublingChainsStayFastAndAreBounded() throws {
        var config = Configuration(environment: [:])
        config.set(section: "PATHS", option: "A0", value: "ab")
        for level in 1...40 {
            config.set(section: "PATHS", option: "A\(level)", value: "${A\(level - 1)}${A\(level - 1)}")
        }
        #expect(try config.expand("$A3") == String(repeating: "ab", count: 8))
        let error = configError { () throws(SecmodError) in _ = try config.expand("$A40") }
        #expect(error?.code == .configValue)
    }

    @Test func tildeExpansion() throws {
        let config = Configuration(environment: ["HOME": "/home/alice"])
        #expect(try config.expand("~") == "~")
        var withFiles = config
        try withFiles.load(text: """
            [s]
            A = ~/keys
            B = ~
            C = ~x
            D = /abs//kept/./as/is
            E = rel/./x
            """, fileName: "t.conf")
        #expect(try withFiles.filename(section: "s", option: "A") == "/home/alice/keys")
        #expect(try withFiles.filename(section: "s", option: "B") == "/home/alice/")
        #expect(try withFiles.filename(section: "s", option: "C") == "/home/alice/x")
        #expect(try withFiles.filename(section: "s", option: "D") == "/abs//kept/./as/is")
        #expect(try withFiles.filename(section: "s", option: "E") == cwdSlash + "rel/./x")

        var homeless = Configuration(environment: [:])
        try homeless.load(text: "[s]\nA = ~/keys\n", fileName: "h.conf")
        let error = configError { () throws(SecmodError) in _ = try homeless.filename(section: "s", option: "A") }
        #expect(error?.code == .configValue)
        #expect(error?.message.hasPrefix("h.conf:2: [s] A: ") == true)
        #expect(error?.message.contains("HOME") == true)
    }

    /// The shipped Taler defaults (paths.conf and taler-exchange-secmod-rsa.conf of
    /// exchange 0.9.2) combined with test_helper_rsa.conf must give the paths the C test
    /// was observed to use (spec §13.1).
    @Test func talerTestHelperPaths() throws {
        let dir = try ConfigScratchDirectory()
        try dir.write("config.d/paths.conf", """
            [PATHS]
            TALER_HOME = ${TALER_TEST_HOME:-${HOME:-${USERPROFILE}}}
            TALER_DATA_HOME = ${TALER_TEST_HOME:-${XDG_DATA_HOME:-${TALER_HOME}/.local/share/}/.local/share/}taler/
            TALER_RUNTIME_DIR = ${TMPDIR:-${TMP:-/tmp}}/taler-system-runtime/
            """)
        try dir.write("config.d/taler-exchange-secmod-rsa.conf", """
            [taler-exchange-secmod-rsa]
            LOOKAHEAD_SIGN = 1 year
            OVERLAP_DURATION = 5 m
            KEY_DIR = ${TALER_DATA_HOME}/exchange-secmod-rsa/keys
            UNIXPATH = $TALER_RUNTIME_DIR/exchange-secmod-rsa/server.sock
            SM_PRIV_KEY = ${TALER_DATA_HOME}/exchange-secmod-rsa/secmod-private-key
            """)
        let main = try dir.write("test_helper_rsa.conf", """
            [PATHS]
            TALER_TEST_HOME = test_helper_rsa_home/

            [coin_1]
            DURATION_WITHDRAW = 1 minute
            CIPHER = RSA
            RSA_KEYSIZE = 2048

            [taler-exchange-secmod-rsa]
            LOOKAHEAD_SIGN = 5 minutes
            OVERLAP_DURATION = 1 s
            """)
        var config = Configuration(environment: ["HOME": "/home/alice"])
        try config.loadDefaults(directory: dir.path + "/config.d")
        try config.load(file: main)
        let section = "taler-exchange-secmod-rsa"
        #expect(try config.filename(section: section, option: "KEY_DIR")
                == cwdSlash + "test_helper_rsa_home/taler//exchange-secmod-rsa/keys")
        #expect(try config.filename(section: section, option: "SM_PRIV_KEY")
                == cwdSlash + "test_helper_rsa_home/taler//exchange-secmod-rsa/secmod-private-key")
        #expect(try config.filename(section: section, option: "UNIXPATH")
                == "/tmp/taler-system-runtime//exchange-secmod-rsa/server.sock")
        #expect(try config.time(section: section, option: "LOOKAHEAD_SIGN") == RelativeTime(seconds: 300))
        #expect(try config.time(section: section, option: "OVERLAP_DURATION") == RelativeTime(seconds: 1))
        #expect(config.location(section: section, option: "KEY_DIR")?.file == dir.path + "/config.d/taler-exchange-secmod-rsa.conf")

        // Without TALER_TEST_HOME the data home comes from XDG_DATA_HOME or HOME, exactly
        // as the (odd) shipped expression says.
        var plain = Configuration(environment: ["HOME": "/home/alice", "TMPDIR": "/run/user/1000"])
        try plain.loadDefaults(directory: dir.path + "/config.d")
        #expect(try plain.filename(section: section, option: "KEY_DIR")
                == "/home/alice/.local/share//.local/share/taler//exchange-secmod-rsa/keys")
        #expect(try plain.filename(section: section, option: "UNIXPATH")
                == "/run/user/1000/taler-system-runtime//exchange-secmod-rsa/server.sock")
        var xdg = Configuration(environment: ["HOME": "/home/alice", "XDG_DATA_HOME": "/xdg"])
        try xdg.loadDefaults(directory: dir.path + "/config.d")
        #expect(try xdg.string(section: "PATHS", option: "TALER_DATA_HOME") == "/xdg/.local/share/taler/")
    }
}
