import Foundation
import SecmodBase
import SecmodClient
import SecmodHelperMain
import SecmodSystem
import Testing

/// The options Taler's helpers take beyond GNUnet's usual ones (`-T`, `-t`, in 0.9.2 and
/// 0.14) and Taler 0.14's section prefix: read as libgnunetutil reads them, and obeyed.
@Suite struct TalerOptionTests {
    /// GNUnet itself parses each option (Tests/Interop/gnunet-time-check.c) and must agree
    /// with `HelperCommandLine` on the value or on the refusal. Both run in this process's
    /// time zone.
    @Test(arguments: [
        ["-T", "5000000"], ["-T", "-5000000"], ["-T", "+1 h"], ["-T", "-5s"], ["-T", "0"], ["--timetravel=90 s"],
        ["-t", "2030-01-02 03:04:05"], ["-t", "2030-01-02"], ["-t", "2030-07"], ["-t", "2030"],
        ["-t", "Wed Jun 30 21:49:08 1993"], ["-t", "2030-07-02 03:04"], ["--time=2031-12-31 23:59:59"],
        ["-T", "junk"], ["-T", "5 fortnights"], ["-t", "junk"], ["-t", "2030-07-02x"], ["-t", "tomorrow"],
    ])
    func gnunetReadsTheSameValue(_ arguments: [String]) throws {
        let referee = try GnunetReferee.check(tool: "gnunet-time-check", arguments)
        let ours = Result { () throws(SecmodError) in try HelperCommandLine(arguments: arguments) }
        switch ours {
        case let .success(options):
            #expect(referee.status == 0, "GNUnet refused \(arguments) that we accept: \(referee.output)")
            let expected = "offset \(options.timeTravel ?? 0) time \(options.startTime ?? 0)"
            #expect(referee.output.split(separator: "\n").last.map(String.init) == expected, "\(arguments)")
        case let .failure(error):
            #expect(error.code == .usage)
            #expect(referee.status != 0, "GNUnet accepted \(arguments) that we refuse: \(referee.output)")
        }
    }

    @Test func endOfTimeIsNoStartTime() {
        // GNUnet takes it; as the time of a key update it would create keys that never start.
        #expect(throws: SecmodError.self) { try HelperCommandLine(arguments: ["-t", "end of time"]) }
        #expect(throws: SecmodError.self) { try HelperCommandLine(arguments: ["--section-prefix", "../x"]) }
        #expect(throws: SecmodError.self) { try HelperCommandLine(arguments: ["--section-prefix="]) }
    }

    /// `-T +1 year`: the helper's keys start a year from now, as the C helper's would.
    @Test func timeTravelMovesTheKeySchedule() throws {
        let helper = try HelperProcess(.eddsa)
        let year: UInt64 = 365 * 86_400 * 1_000_000
        let before = Clock.wallMicroseconds()
        try helper.start(arguments: ["-T", String(year)])
        let keys = try helper.client().keys
        let first = try #require(keys.first).anchor.microseconds
        #expect(first >= before / 1_000_000 * 1_000_000 + year - 1_000_000)
        #expect(first <= Clock.wallMicroseconds() + year)
        #expect(helper.stop() == 0)
    }

    /// `-t` an hour ahead: the first key update takes that time as now.
    @Test func startTimeAnchorsTheFirstKeys() throws {
        let helper = try HelperProcess(.eddsa)
        let target = (Clock.wallMicroseconds() / 1_000_000 + 3600)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone.current
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        let text = formatter.string(from: Date(timeIntervalSince1970: TimeInterval(target)))
        try helper.start(arguments: ["-t", text])
        let anchors = try helper.client().keys.map { $0.anchor.microseconds / 1_000_000 }
        let first = try #require(anchors.first)
        #expect(first >= target && first <= target + 60, "first anchor \(first), asked for \(target)")
        #expect(helper.stop() == 0)
    }

    /// `--section-prefix donau`: the helper reads `[donau-secmod-eddsa]`. Read instead, the
    /// exchange's section would put the socket where no directory exists.
    @Test func sectionPrefixChoosesTheSection() throws {
        let helper = try HelperProcess(.eddsa)
        let dir = helper.root + "/home/taler/exchange-secmod-eddsa"
        try """
            [donau-secmod-eddsa]
            UNIXPATH = \(helper.socketPath)
            KEY_DIR = \(dir)/keys
            SM_PRIV_KEY = \(dir)/secmod-private-key
            AUDIT_DIR = \(dir)/audit
            OVERLAP_DURATION = 1 s
            LOOKAHEAD_SIGN = 5 minutes
            DURATION = 1 minute
            [taler-exchange-secmod-eddsa]
            UNIXPATH = \(helper.root)/nowhere/server.sock

            """.write(toFile: helper.configPath, atomically: true, encoding: .utf8)
        try helper.start(arguments: ["--section-prefix", "donau"])
        let client = try helper.client()
        #expect(!client.keys.isEmpty)
        _ = try client.sign(purpose: 1234, body: [1, 2, 3])
        #expect(helper.stop() == 0)
    }

    /// A configuration with only Clause-Schnorr denominations: the RSA helper says at start
    /// that each is left to Taler's CS helper, instead of a bare "0 keys".
    @Test func csSectionsAreNamedAtStart() throws {
        let helper = try HelperProcess(.rsa(denominations: [(section: "coin_eur_1", duration: "1 minute", bits: 1024)]),
                                       config: "")
        try (try String(contentsOfFile: helper.configPath, encoding: .utf8)
             + "[coin_eur_cs_5]\nCIPHER = CS\nDURATION_WITHDRAW = 1 minute\n")
            .write(toFile: helper.configPath, atomically: true, encoding: .utf8)
        try helper.start()
        #expect(helper.waitForLog("[coin_eur_cs_5] has CIPHER = CS"))
        #expect(!helper.log.contains("[coin_eur_1] has CIPHER"))
        #expect(helper.stop() == 0)
    }
}
