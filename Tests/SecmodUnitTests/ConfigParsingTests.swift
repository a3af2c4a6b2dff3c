import Foundation
import SecmodBase
import SecmodConfig
import SecmodSystem
import Testing

@Suite("Configuration parsing")
struct ConfigParsingTests {
    @Test func commentsWhitespaceAndQuotes() throws {
        var config = Configuration(environment: [:])
        try config.load(text: """
            # a comment
            % also a comment
              [section]\r
            \tPLAIN =   value with spaces   \r

            QUOTED = "  kept inside quotes  "
            HALF = "only leading
            INLINE = 5 # not a comment
            TABS = a\tb
            EMPTY =
            EQUALS = a=b
            """, fileName: "t.conf")
        #expect(config.rawValue(section: "section", option: "PLAIN") == "value with spaces")
        #expect(config.rawValue(section: "section", option: "QUOTED") == "  kept inside quotes  ")
        #expect(config.rawValue(section: "section", option: "HALF") == "\"only leading")
        #expect(config.rawValue(section: "section", option: "INLINE") == "5 # not a comment")
        #expect(config.rawValue(section: "section", option: "TABS") == "a b")
        #expect(config.rawValue(section: "section", option: "EMPTY") == "")
        #expect(config.rawValue(section: "section", option: "EQUALS") == "a=b")
        #expect(config.optionNames(in: "section") == ["PLAIN", "QUOTED", "HALF", "INLINE", "TABS", "EMPTY", "EQUALS"])
        #expect(config.location(section: "section", option: "QUOTED") == SourceLocation(file: "t.conf", line: 6))
    }

    @Test func namesAreCaseInsensitiveAndKeepFirstSpelling() throws {
        var config = Configuration(environment: [:])
        try config.load(text: """
            [Taler-Exchange-Secmod-RSA]
            Key_Dir = /a
            [coin_1]
            CIPHER = RSA
            [TALER-EXCHANGE-SECMOD-rsa]
            KEY_DIR = /b
            lookahead_sign = 1 year
            """, fileName: "t.conf")
        #expect(config.sectionNames == ["Taler-Exchange-Secmod-RSA", "coin_1"])
        #expect(config.optionNames(in: "taler-exchange-secmod-rsa") == ["Key_Dir", "lookahead_sign"])
        #expect(config.rawValue(section: "taler-exchange-secmod-rsa", option: "key_dir") == "/b")
        #expect(config.rawValue(section: "TALER-EXCHANGE-SECMOD-RSA", option: "LOOKAHEAD_SIGN") == "1 year")
        #expect(config.hasSection("COIN_1"))
        #expect(!config.hasSection("coin_2"))
        #expect(config.rawValue(section: "coin_1", option: "missing") == nil)
        #expect(config.optionNames(in: "nope") == [])
        // Values keep their case; only names are folded.
        #expect(config.rawValue(section: "coin_1", option: "cipher") == "RSA")
    }

    @Test func laterFilesOverrideAndLocationFollowsTheWinner() throws {
        let dir = try ConfigScratchDirectory()
        let first = try dir.write("first.conf", "[s]\nA = 1\nB = 1\n")
        let second = try dir.write("second.conf", "\n[S]\n\na = 2\nC = 2\n")
        var config = Configuration(environment: [:])
        try config.load(file: first)
        try config.load(file: second)
        #expect(config.rawValue(section: "s", option: "A") == "2")
        #expect(config.location(section: "s", option: "A") == SourceLocation(file: second, line: 4))
        #expect(config.location(section: "s", option: "B") == SourceLocation(file: first, line: 3))
        #expect(config.location(section: "s", option: "A")?.description == "\(second):4")
        #expect(config.optionNames(in: "s") == ["A", "B", "C"])

        config.set(section: "S", option: "b", value: "3")
        #expect(config.rawValue(section: "s", option: "B") == "3")
        #expect(config.location(section: "s", option: "B") == SourceLocation(file: "<override>", line: 0))
        config.set(section: "new", option: "X", value: "y")
        #expect(config.sectionNames == ["s", "new"])
    }

    @Test func relativeLoadPathIsReportedAbsolute() throws {
        let dir = try ConfigScratchDirectory()
        let file = try dir.write("rel.conf", "[s]\nX = 1\n")
        let cwd = configTestCurrentDirectory()
        // Build a relative path from the current directory to the file.
        let relative = String(repeating: "../", count: cwd.split(separator: "/").count) + file.dropFirst()
        var config = Configuration(environment: [:])
        try config.load(file: relative)
        #expect(config.location(section: "s", option: "X")?.file == (cwd.hasSuffix("/") ? cwd : cwd + "/") + relative)
    }

    @Test func syntaxErrorsNameFileAndLine() throws {
        let cases: [(String, Int, String)] = [
            ("[s]\nA = 1\nthis line is garbage\n", 3, "syntax error"),
            ("# comment\nA = 1\n", 2, "before any [section]"),
            ("[s]\n= value\n", 2, "without an option name"),
            ("[s]\n@FOO@ bar\n", 2, "unknown directive '@FOO@'"),
            ("[s]\n\n@INLINE bar\n", 3, "missing closing '@'"),
            ("[s]\n@INLINE@\n", 2, "without a file name"),
            ("[s]\n@INLINE-SECRET@ onlysection\n", 2, "@INLINE-SECRET@ section file"),
            ("[s\n", 1, "syntax error"),
        ]
        for (text, line, fragment) in cases {
            var config = Configuration(environment: [:])
            let error = configError { () throws(SecmodError) in try config.load(text: text, fileName: "bad.conf") }
            #expect(error?.code == .configSyntax, "\(text)")
            #expect(error?.message.hasPrefix("bad.conf:\(line): ") == true, "\(String(describing: error))")
            #expect(error?.message.contains(fragment) == true, "\(String(describing: error))")
        }
    }

    @Test func optionBeforeSectionNamesTheOption() {
        var config = Configuration(environment: [:])
        let error = configError { () throws(SecmodError) in try config.load(text: "KEY_DIR = /x\n", fileName: "f.conf") }
        #expect(error?.message.contains("KEY_DIR") == true)
    }

    @Test func invalidUTF8IsASyntaxError() throws {
        let dir = try ConfigScratchDirectory()
        let file = try dir.writeBytes("latin1.conf", Array("[s]\nA = 1\nB = ".utf8) + [0xE9, 0x0A])
        var config = Configuration(environment: [:])
        let error = configError { () throws(SecmodError) in try config.load(file: file) }
        #expect(error?.code == .configSyntax)
        #expect(error?.message.hasPrefix("\(file):3: ") == true)
    }

    @Test func missingFileIsAConfigMissingErrorWithErrno() throws {
        let dir = try ConfigScratchDirectory()
        let path = dir.path + "/does-not-exist.conf"
        var config = Configuration(environment: [:])
        let error = configError { () throws(SecmodError) in try config.load(file: path) }
        #expect(error?.code == .configMissing)  // exit 6 for helpers and secmod alike
        #expect(error?.errno == ENOENT)
        #expect(error?.message.contains(path) == true)
        #expect(error?.message.contains(String(cString: strerror(ENOENT))) == true)
    }

    @Test func failedLoadLeavesConfigurationUnchanged() throws {
        var config = Configuration(environment: [:])
        try config.load(text: "[s]\nA = 1\n", fileName: "good.conf")
        let error = configError { () throws(SecmodError) in
            try config.load(text: "[s]\nA = 2\nB = 2\nbroken\n", fileName: "bad.conf")
        }
        #expect(error != nil)
        #expect(config.rawValue(section: "s", option: "A") == "1")
        #expect(config.rawValue(section: "s", option: "B") == nil)
    }

    // MARK: - @INLINE@

    @Test func inlineResolvesRelativeToTheIncludingFile() throws {
        let dir = try ConfigScratchDirectory()
        try dir.write("conf/sub/inner.conf", "[inner]\nX = inner\n@inline@ ../leaf.conf\n")
        try dir.write("conf/leaf.conf", "[leaf]\nY = leaf\n")
        let absolute = try dir.write("elsewhere/abs.conf", "[abs]\nZ = abs\n")
        let main = try dir.write("conf/main.conf", """
            [main]
            A = before
            @INLINE@ sub/inner.conf
            @INLINE@ \(absolute)
            B = after
            """)
        var config = Configuration(environment: [:])
        try config.load(file: main)
        #expect(config.rawValue(section: "inner", option: "X") == "inner")
        #expect(config.rawValue(section: "leaf", option: "Y") == "leaf")
        #expect(config.rawValue(section: "abs", option: "Z") == "abs")
        // The including file continues in its own section after the include.
        #expect(config.rawValue(section: "main", option: "B") == "after")
        #expect(config.location(section: "leaf", option: "Y")?.line == 2)
        #expect(config.location(section: "leaf", option: "Y")?.file.hasSuffix("/leaf.conf") == true)
    }

    @Test func inlineFollowsTheRealLocationOfASymlinkedFile() throws {
        let dir = try ConfigScratchDirectory()
        try dir.write("real/main.conf", "[m]\n@INLINE@ sibling.conf\n")
        try dir.write("real/sibling.conf", "[m]\nFROM = real\n")
        try dir.write("link/sibling.conf", "[m]\nFROM = link\n")
        try FileManager.default.createSymbolicLink(atPath: dir.path + "/link/main.conf",
                                                   withDestinationPath: dir.path + "/real/main.conf")
        var config = Configuration(environment: [:])
        try config.load(file: dir.path + "/link/main.conf")
        #expect(config.rawValue(section: "m", option: "FROM") == "real")
    }

    @Test func includedFileMustOpenItsOwnSection() throws {
        let dir = try ConfigScratchDirectory()
        try dir.write("inner.conf", "X = 1\n")
        let main = try dir.write("main.conf", "[s]\n@INLINE@ inner.conf\n")
        var config = Configuration(environment: [:])
        let error = configError { () throws(SecmodError) in try config.load(file: main) }
        #expect(error?.code == .configSyntax)
        #expect(error?.message.contains("inner.conf:1: ") == true)
        #expect(error?.message.contains("(included from \(main):2)") == true)
    }

    @Test func inlineCyclesAreErrors() throws {
        let dir = try ConfigScratchDirectory()
        let a = try dir.write("a.conf", "[a]\nX = 1\n@INLINE@ b.conf\n")
        try dir.write("b.conf", "[b]\n@INLINE@ ./a.conf\n")
        let selfInclude = try dir.write("self.conf", "[s]\n@INLINE@ self.conf\n")
        for file in [a, selfInclude] {
            var config = Configuration(environment: [:])
            let error = configError { () throws(SecmodError) in try config.load(file: file) }
            #expect(error?.code == .configSyntax)
            #expect(error?.message.contains("cycle") == true, "\(String(describing: error))")
        }
        // Including the same file twice in a row is not a cycle.
        let twice = try dir.write("twice.conf", "[t]\n@INLINE@ leaf.conf\n@INLINE@ leaf.conf\n")
        try dir.write("leaf.conf", "[leaf]\nL = 1\n")
        var config = Configuration(environment: [:])
        try config.load(file: twice)
        #expect(config.rawValue(section: "leaf", option: "L") == "1")
    }

    @Test func missingInlineFileIsAnError() throws {
        let dir = try ConfigScratchDirectory()
        let main = try dir.write("main.conf", "[s]\n@INLINE@ gone.conf\n")
        var config = Configuration(environment: [:])
        let error = configError { () throws(SecmodError) in try config.load(file: main) }
        #expect(error?.code == .configMissing)  // exit 6 for helpers and secmod alike
        #expect(error?.errno == ENOENT)
        #expect(error?.message.contains("gone.conf") == true)
        #expect(error?.message.contains("\(main):2") == true)
    }

    @Test func inlineMatchingLoadsGlobInSortedOrder() throws {
        let dir = try ConfigScratchDirectory()
        try dir.write("d/20-b.conf", "[s]\nV = b\nB = 1\n")
        try dir.write("d/10-a.conf", "[s]\nV = a\nA = 1\n")
        try dir.write("d/notes.txt", "this is not a config file\n")
        let main = try dir.write("main.conf", "[s]\n@INLINE-MATCHING@ d/*.conf\n")
        var config = Configuration(environment: [:])
        try config.load(file: main)
        #expect(config.rawValue(section: "s", option: "V") == "b")
        #expect(config.rawValue(section: "s", option: "A") == "1")
        let none = try dir.write("none.conf", "[s]\n@inline-matching@ nothing/*.conf\nN = 1\n")
        try config.load(file: none)
        #expect(config.rawValue(section: "s", option: "N") == "1")
    }

    @Test func inlineSecretTakesOnlyItsSection() throws {
        let dir = try ConfigScratchDirectory()
        let secret = try dir.write("secret.conf", "[db]\nPASSWORD = hunter2\n[other]\nLEAK = yes\n")
        let main = try dir.write("main.conf", "[x]\n@INLINE-SECRET@ DB secret.conf\n")
        var config = Configuration(environment: [:])
        try config.load(file: main)
        #expect(config.rawValue(section: "db", option: "password") == "hunter2")
        #expect(config.location(section: "db", option: "password") == SourceLocation(file: secret, line: 2))
        #expect(!config.hasSection("other"))
        #expect(!config.isInaccessible(section: "db"))
    }

    @Test func unreadableInlineSecretMarksTheSectionInaccessible() throws {
        let dir = try ConfigScratchDirectory()
        let main = try dir.write("main.conf", "[x]\nA = 1\n@INLINE-SECRET@ db missing-secret.conf\n")
        var config = Configuration(environment: [:])
        try config.load(file: main)
        #expect(config.hasSection("db"))
        #expect(config.isInaccessible(section: "DB"))
        #expect(config.rawValue(section: "db", option: "password") == nil)
        let error = configError { () throws(SecmodError) in _ = try config.string(section: "db", option: "PASSWORD") }
        #expect(error?.code == .configMissing)
        #expect(error?.message.contains("missing-secret.conf") == true)
        #expect(error?.message.contains("\(main):3") == true)
    }

    @Test func directivesAreRefusedInSecretFiles() throws {
        let dir = try ConfigScratchDirectory()
        try dir.write("secret.conf", "[db]\n@INLINE@ more.conf\n")
        let main = try dir.write("main.conf", "[x]\n@INLINE-SECRET@ db secret.conf\n")
        var config = Configuration(environment: [:])
        let error = configError { () throws(SecmodError) in try config.load(file: main) }
        #expect(error?.code == .configSyntax)
        #expect(error?.message.contains("secret.conf:2: ") == true)
    }

    // MARK: - config.d

    @Test func loadDefaultsReadsConfFilesInSortedOrder() throws {
        let dir = try ConfigScratchDirectory()
        try dir.write("config.d/paths.conf", "[PATHS]\nORDER = paths\nP = 1\n")
        try dir.write("config.d/exchange.conf", "[PATHS]\nORDER = exchange\nE = 1\n")
        try dir.write("config.d/README", "not a config file at all\n")
        try dir.write("config.d/zzz.conf.bak", "broken line\n")
        try dir.write("config.d/rsa.conf", "[PATHS]\nORDER = rsa\n")
        var config = Configuration(environment: [:])
        try config.loadDefaults(directory: dir.path + "/config.d")
        #expect(config.rawValue(section: "PATHS", option: "ORDER") == "rsa")
        #expect(config.location(section: "PATHS", option: "ORDER")?.file == dir.path + "/config.d/rsa.conf")
        #expect(config.location(section: "PATHS", option: "E")?.file == dir.path + "/config.d/exchange.conf")
        #expect(config.rawValue(section: "PATHS", option: "P") == "1")
        // Defaults first, then the main file overrides them.
        let main = try dir.write("main.conf", "[paths]\norder = main\n")
        try config.load(file: main)
        #expect(config.rawValue(section: "PATHS", option: "ORDER") == "main")
    }

    @Test func missingDefaultsDirectoryIsNotAnError() throws {
        var config = Configuration(environment: [:])
        try config.loadDefaults(directory: "/nonexistent/secmod/config.d")
        #expect(config.sectionNames.isEmpty)
    }

    @Test func brokenDefaultsFileIsAnError() throws {
        let dir = try ConfigScratchDirectory()
        try dir.write("config.d/a.conf", "[s]\nA = 1\n")
        try dir.write("config.d/b.conf", "[s]\nnonsense\n")
        var config = Configuration(environment: [:])
        let error = configError { () throws(SecmodError) in try config.loadDefaults(directory: dir.path + "/config.d") }
        #expect(error?.message.hasPrefix(dir.path + "/config.d/b.conf:2: ") == true)
        #expect(config.rawValue(section: "s", option: "A") == nil)
    }

    // MARK: - Typed accessors

    @Test func numbers() throws {
        var config = Configuration(environment: [:])
        try config.load(text: """
            [w]
            WORKERS = 16
            ZERO = 0
            NEG = -1
            WORD = sixteen
            BIG = 18446744073709551616
            MAX = 18446744073709551615
            """, fileName: "n.conf")
        #expect(try config.number(section: "w", option: "workers") == 16)
        #expect(try config.number(section: "w", option: "zero") == 0)
        #expect(try config.number(section: "w", option: "max") == UInt64.max)
        #expect(try config.number(section: "w", option: "absent") == nil)
        for (option, line) in [("NEG", 4), ("WORD", 5), ("BIG", 6)] {
            let error = configError { () throws(SecmodError) in _ = try config.number(section: "W", option: option) }
            #expect(error?.code == .configValue)
            #expect(error?.message.hasPrefix("n.conf:\(line): [w] \(option): ") == true, "\(String(describing: error))")
        }
    }

    @Test func sizes() throws {
        let table: [(String, UInt64?)] = [
            ("4096", 4096), ("1 KiB", 1024), ("8 MiB", 8 << 20), ("8MiB", 8 << 20), ("2 MB", 2_000_000),
            ("1 kb", 1000), ("1 KB", 1000), ("3 B", 3), ("1 GiB 512 MiB", (1 << 30) + (512 << 20)),
            ("1 TB", 1_024_000_000_000), ("16 EiB", nil), ("5 parsecs", nil), ("", nil), ("MiB", nil), ("-1", nil),
        ]
        for (text, expected) in table {
            var config = Configuration(environment: [:])
            config.set(section: "s", option: "SIZE", value: text)
            if let expected {
                #expect(try config.size(section: "s", option: "size") == expected, "\(text)")
            } else {
                let error = configError { () throws(SecmodError) in _ = try config.size(section: "s", option: "size") }
                #expect(error?.code == .configValue, "\(text)")
                #expect(error?.message.hasPrefix("<override>:0: [s] SIZE: ") == true, "\(String(describing: error))")
            }
        }
    }

    @Test func yesNo() throws {
        var config = Configuration(environment: [:])
        try config.load(text: "[f]\nA = YES\nB = no\nC = True\nD = FALSE\nE = yes please\nF = 1\n", fileName: "y.conf")
        #expect(try config.yesno(section: "f", option: "A") == true)
        #expect(try config.yesno(section: "f", option: "B") == false)
        #expect(try config.yesno(section: "f", option: "C") == true)
        #expect(try config.yesno(section: "f", option: "D") == false)
        #expect(try config.yesno(section: "f", option: "Z") == nil)
        for (option, line) in [("E", 6), ("F", 7)] {
            let error = configError { () throws(SecmodError) in _ = try config.yesno(section: "f", option: option) }
            #expect(error?.message.hasPrefix("y.conf:\(line): [f] \(option): ") == true, "\(String(describing: error))")
            #expect(error?.message.contains("YES or NO") == true)
        }
    }

    @Test func choices() throws {
        var config = Configuration(environment: [:])
        try config.load(text: "[coin_1]\nCIPHER = rsa\n[coin_2]\nCIPHER = DSA\n", fileName: "c.conf")
        #expect(try config.choice(section: "coin_1", option: "cipher", among: ["RSA", "CS"]) == "RSA")
        #expect(try config.choice(section: "coin_3", option: "cipher", among: ["RSA", "CS"]) == nil)
        let error = configError { () throws(SecmodError) in
            _ = try config.choice(section: "coin_2", option: "CIPHER", among: ["RSA", "CS"])
        }
        #expect(error?.code == .configValue)
        #expect(error?.message.hasPrefix("c.conf:4: [coin_2] CIPHER: ") == true)
        #expect(error?.message.contains("'RSA', 'CS'") == true)
    }

    @Test func requireNamesSectionOptionAndDashC() throws {
        let config = Configuration(environment: [:])
        #expect(try config.require(Optional(5), section: "s", option: "O") == 5)
        let error = configError { () throws(SecmodError) in
            _ = try config.require(config.time(section: "taler-exchange-secmod-rsa", option: "LOOKAHEAD_SIGN"),
                                   section: "taler-exchange-secmod-rsa", option: "LOOKAHEAD_SIGN")
        }
        #expect(error?.code == .configMissing)
        #expect(error?.message.contains("[taler-exchange-secmod-rsa] LOOKAHEAD_SIGN") == true)
        #expect(error?.message.contains("-c") == true)
    }

    @Test func timeAccessorReportsLocation() throws {
        var config = Configuration(environment: [:])
        try config.load(text: "[coin_1]\n\nDURATION_WITHDRAW = 1 month\nOK = 5 m\n", fileName: "time.conf")
        #expect(try config.time(section: "coin_1", option: "ok") == RelativeTime(seconds: 300))
        let error = configError { () throws(SecmodError) in _ = try config.time(section: "coin_1", option: "duration_withdraw") }
        #expect(error?.code == .configValue)
        #expect(error?.message.hasPrefix("time.conf:3: [coin_1] DURATION_WITHDRAW: ") == true)
        #expect(error?.message.contains("month") == true)
    }
}
