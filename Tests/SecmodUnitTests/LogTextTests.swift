import SecmodSystem
import Testing

/// LogText: the one escaping of input in log lines.
@Suite struct LogTextTests {
    @Test func quotedIsOneLineOfPrintableASCIIAndReversible() {
        #expect(LogText.quoted("a\nb\u{1b}[31m\"\\é") == "\"a\\x0ab\\x1b[31m\\x22\\x5c\\xc3\\xa9\"")
        #expect(LogText.quoted([0x00, 0x7F, 0xFF, 0x41]) == "\"\\x00\\x7f\\xffA\"")
        #expect(LogText.quoted("") == "\"\"")
    }

    @Test func neutralizedKeepsTextAndEscapesOnlyControls() {
        #expect(LogText.neutralized("plain → text") == "plain → text")
        #expect(LogText.neutralized("a\nb\rc\u{1b}") == "a\\x0ab\\x0dc\\x1b")
        // Once a line has a control byte, its backslashes are escaped too, so that an
        // escape the line already carried cannot pass for one the handler made.
        #expect(LogText.neutralized("\\x0a\n") == "\\x5cx0a\\x0a")
    }
}
