import Foundation
import SecmodSystem
import Testing

/// The environment read from `environ` (the helpers do not link Foundation) against
/// Foundation's reading of it.
@Suite struct ProcessEnvironmentTests {
    @Test func agreesWithFoundation() {
        setenv("SECMOD_TEST_ENV", "a=b c", 1)
        let ours = ProcessEnvironment.current
        #expect(ours["SECMOD_TEST_ENV"] == "a=b c", "only the first '=' separates name and value")
        #expect(ours == ProcessInfo.processInfo.environment)
        unsetenv("SECMOD_TEST_ENV")
        #expect(ProcessEnvironment.current["SECMOD_TEST_ENV"] == nil)
    }
}
