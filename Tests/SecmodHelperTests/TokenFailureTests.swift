import Foundation
import SecmodBase
import SecmodClient
import SecmodCrypto
import SecmodSystem
import SecmodWire
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A token that fails: the helpers' keys are in SoftHSM, reached through a PKCS#11 module
/// of ours (Tests/Probes/pkcs11-fault-module.c) that forwards every call and, on command,
/// fails calls, makes them hang or makes the token disappear. Whatever the token does, the
/// affected requests get the helper-unavailable code and the helper keeps serving.
@Suite(.serialized, .enabled(if: SoftHSMToken.available, "needs softhsm2 and opensc (contrib/deps.sh installs them)"))
struct TokenFailureTests {
    static let faultModule = Probes.binary("pkcs11-fault-module", flags: "-shared -fPIC -I/usr/include/p11-kit-1", suffix: ".so")

    /// A helper on a SoftHSM token behind the fault module, and the module's control file.
    struct Setup {
        let helper: HelperProcess
        let control: String
        let counts: String

        init(_ kind: HelperProcess.Kind = .eddsa, config: String = "") throws {
            let module = try TokenFailureTests.faultModule.get()
            helper = try HelperProcess(kind, config: "PKCS11_MODULE = \(module)\n" + config, keyStore: .softHSM(moduleKey: false))
            control = helper.root + "/fault-control"
            counts = helper.root + "/fault-count"
        }

        var environment: [String: String] {
            ["SECMOD_P11_REAL": SoftHSMToken.module, "SECMOD_P11_CONTROL": control, "SECMOD_P11_COUNT": counts]
        }

        func start(arguments: [String] = []) throws { try helper.start(arguments: arguments, environment: environment) }

        func inject(_ lines: String) throws { try lines.write(toFile: control, atomically: true, encoding: .utf8) }
        func heal() throws { try "".write(toFile: control, atomically: true, encoding: .utf8) }
        var injected: [String] { ((try? String(contentsOfFile: counts, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init) }
    }

    static let purpose: [UInt8] = [0, 0, 0, 8, 0, 0, 0, 0]

    @Test func aFailingCallAnswersWithTheUnavailableCodeAndServingGoesOn() throws {
        let eddsa = try Setup()
        try eddsa.start()
        let client = try eddsa.helper.client()
        try eddsa.inject("ops=sign\nrv=0x6\n")  // CKR_FUNCTION_FAILED
        for _ in 0..<3 {
            #expect(throws: SecmodError.self) { _ = try client.sign(purposeBytes: Self.purpose) }
            do { _ = try client.sign(purposeBytes: Self.purpose) } catch {
                #expect(error.talerCode == TalerErrorCode.signkeyHelperUnavailable.rawValue, "\(error)")
            }
        }
        #expect(eddsa.injected.contains("C_SignInit"))
        try eddsa.heal()
        let (pub, sig) = try client.sign(purposeBytes: Self.purpose)
        #expect(Ed25519.verify(signature: sig, message: Self.purpose, publicKey: pub))
        #expect(eddsa.helper.isRunning)
        #expect(eddsa.helper.stop() == 0)

        let rsa = try Setup(.rsa(denominations: [(section: "coin_1", duration: "1 minute", bits: 2048)]))
        try rsa.start()
        let rsaClient = try rsa.helper.rsaClient()
        let now = Timestamp(microseconds: Clock.wallMicroseconds())
        let key = try #require(rsaClient.keys.first { $0.anchor <= now })
        let message = [UInt8](repeating: 0x42, count: 200)
        try rsa.inject("ops=sign\nrv=0x30\n")  // CKR_DEVICE_ERROR: the session is dropped and reopened
        let results = try rsaClient.batchSign(Array(repeating: RsaSignRequestItem(hash: key.hash, blindedMessage: message), count: 4))
        #expect(results.count == 4)
        for result in results {
            guard case let .failure(error) = result else { Issue.record("a signature came through a failing token"); continue }
            #expect(error.talerCode == TalerErrorCode.denominationHelperUnavailable.rawValue, "\(error)")
        }
        // Every one of those calls lost its session; the log says so once a second at most.
        let lostLines = rsa.helper.log.split(separator: "\n").filter { $0.contains("opening a new session") }
        #expect((1...2).contains(lostLines.count), "\(lostLines)")
        try rsa.heal()
        let signature = try rsaClient.sign(hash: key.hash, blindedMessage: message)
        #expect(!signature.isEmpty)
        #expect(rsa.helper.stop() == 0)
    }

    /// Waits until the metrics file says the token is up (1) or down (0).
    func waitForTokenUp(_ up: Bool, in path: String) -> Bool {
        let line = "secmod_token_up{helper=\"taler-exchange-secmod-eddsa\",token=\"\(SoftHSMToken.label)\"} \(up ? 1 : 0)"
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
            if let text = try? String(contentsOfFile: path, encoding: .utf8), text.contains(line) { return true }
            usleep(100_000)
        }
        return false
    }

    @Test func aTokenThatDisappearsIsReconnectedWhenItIsBack() throws {
        let metrics = FileManager.default.temporaryDirectory.path + "/secmod-token-metrics-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).prom"
        defer { try? FileManager.default.removeItem(atPath: metrics) }
        let setup = try Setup(config: "METRICS_FILE = \(metrics)")
        try setup.start()
        #expect(waitForTokenUp(true, in: metrics))
        let client = try setup.helper.client()
        _ = try client.sign(purposeBytes: Self.purpose)
        try setup.inject("removed=1\n")
        // While it is gone, requests fail fast with the unavailable code.
        for _ in 0..<5 {
            let started = Date()
            do {
                _ = try client.sign(purposeBytes: Self.purpose)
                Issue.record("signed with the token gone")
            } catch {
                #expect(error.talerCode == TalerErrorCode.signkeyHelperUnavailable.rawValue, "\(error)")
            }
            #expect(Date().timeIntervalSince(started) < 2)
        }
        #expect(setup.helper.waitForLog("requests fail until it is back"))
        #expect(waitForTokenUp(false, in: metrics), "METRICS_FILE does not say the token is down")
        try setup.heal()
        // Back: the helper finds it again (the back-off is at most 10 s) and signs.
        let deadline = Date().addingTimeInterval(20)
        var signed = false
        while !signed, Date() < deadline {
            if (try? client.sign(purposeBytes: Self.purpose)) != nil { signed = true } else { usleep(200_000) }
        }
        #expect(signed)
        #expect(setup.helper.waitForLog("is available again"))
        #expect(waitForTokenUp(true, in: metrics))
        // Said once per change of state, not once per request.
        let lines = setup.helper.log.split(separator: "\n")
        #expect(lines.filter { $0.contains("requests fail until it is back") }.count == 1)
        #expect(setup.helper.stop() == 0)
    }

    @Test func aHangingCallTimesOutAndTheHelperKeepsServing() throws {
        let metrics = FileManager.default.temporaryDirectory.path + "/secmod-token-metrics-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).prom"
        defer { try? FileManager.default.removeItem(atPath: metrics) }
        let setup = try Setup(config: "REQUEST_TIMEOUT = 1 s\nMETRICS_FILE = \(metrics)")
        try setup.start(arguments: ["-w", "2"])
        let first = try setup.helper.client()
        let second = try setup.helper.client()
        try setup.inject("ops=sign\nhang=1\n")
        for client in [first, second, first] {
            let started = Date()
            do {
                _ = try client.sign(purposeBytes: Self.purpose, timeout: .seconds(10))
                Issue.record("signed through a hanging token")
            } catch {
                #expect(error.talerCode == TalerErrorCode.signkeyHelperUnavailable.rawValue, "\(error)")
            }
            let waited = Date().timeIntervalSince(started)
            #expect(waited >= 0.9 && waited < 5, "answered after \(waited) s")
        }
        // Both workers hang in the token; the third request waited in the queue and, once
        // answered, left it: nothing stays queued behind the hung calls.
        let answered = UInt64(Date().timeIntervalSince1970)
        var queuedAfter: String?
        let metricsDeadline = Date().addingTimeInterval(15)
        while queuedAfter == nil, Date() < metricsDeadline {
            if let text = try? String(contentsOfFile: metrics, encoding: .utf8),
               let updated = text.split(separator: "\n").first(where: { $0.hasPrefix("secmod_last_update_seconds") })?.split(separator: " ").last,
               let seconds = UInt64(updated), seconds > answered {
                queuedAfter = text.split(separator: "\n").first { $0.hasPrefix("secmod_queued_signatures") }.map(String.init)
            } else {
                usleep(200_000)
            }
        }
        #expect(queuedAfter?.hasSuffix(" 0") == true, "\(queuedAfter ?? "no metrics written")")
        #expect(setup.injected.contains { $0.hasPrefix("C_Sign") })
        // The loop never waited on the token: a new client handshakes and gets the keys.
        #expect(try setup.helper.client().keys.count == 6)
        #expect(setup.helper.waitForLog("REQUEST_TIMEOUT"))
        try setup.heal()
        let deadline = Date().addingTimeInterval(10)
        var signed = false
        while !signed, Date() < deadline {
            if let (pub, sig) = try? first.sign(purposeBytes: Self.purpose, timeout: .seconds(5)) {
                #expect(Ed25519.verify(signature: sig, message: Self.purpose, publicKey: pub))
                signed = true
            }
        }
        #expect(signed)
        #expect(setup.helper.stop() == 0)
    }

    /// A token that logs the helper out and then refuses its PIN (changed behind its back):
    /// one login attempt, never more, so the token does not lock the PIN.
    @Test func aPinRefusedAfterStartIsNotTriedAgain() throws {
        let setup = try Setup()
        try setup.start()
        let client = try setup.helper.client()
        _ = try client.sign(purposeBytes: Self.purpose)
        // CKR_USER_NOT_LOGGED_IN for signing, CKR_PIN_INCORRECT for C_Login.
        try setup.inject("ops=sign,login\nrv=0x101\nrv.login=0xA0\n")
        for _ in 0..<5 {
            do {
                _ = try client.sign(purposeBytes: Self.purpose)
                Issue.record("signed while logged out")
            } catch {
                #expect(error.talerCode == TalerErrorCode.signkeyHelperUnavailable.rawValue, "\(error)")
            }
        }
        #expect(setup.injected.filter { $0 == "C_Login" }.count == 1, "\(setup.injected)")
        #expect(setup.helper.waitForLog("refused the PIN"))
        #expect(setup.helper.isRunning)
        #expect(setup.helper.stop() == 0)
    }
}
