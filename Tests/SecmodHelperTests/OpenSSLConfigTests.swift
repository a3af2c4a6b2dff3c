import Foundation
import SecmodBase
import SecmodClient
import SecmodCrypto
import SecmodSystem
import Testing

/// The helper starts OpenSSL without reading a configuration file (SecmodCrypto/OpenSSL.swift):
/// an `OPENSSL_CONF` in its environment must not load a shared object into the process that
/// holds the keys. The module here only leaves a mark when loaded; OpenSSL's own command-line
/// tool, given the same environment, loads it (the control).
@Suite struct OpenSSLConfigTests {
    @Test func openSSLConfLoadsNothingIntoTheHelper() throws {
        let module = try Probes.binary("openssl-marker-module", flags: "-shared -fPIC", suffix: ".so").get()
        let directory = FileManager.default.temporaryDirectory.path + "/secmod-openssl-conf-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let conf = directory + "/openssl.cnf"
        try """
            openssl_conf = openssl_init
            [openssl_init]
            providers = provider_sect
            [provider_sect]
            marker = marker_sect
            [marker_sect]
            module = \(module)
            activate = 1

            """.write(toFile: conf, atomically: true, encoding: .utf8)

        // Control: a program that reads OPENSSL_CONF loads the module.
        let controlMark = directory + "/control"
        let control = GnunetReferee.run("/usr/bin/env", ["OPENSSL_CONF=\(conf)", "SECMOD_MARKER=\(controlMark)",
                                                         "openssl", "list", "-providers"])
        #expect(FileManager.default.fileExists(atPath: controlMark), "openssl did not load the module: \(control.output)")

        let helperMark = directory + "/helper"
        let helper = try HelperProcess(.rsa(denominations: RsaHelperTests.coin))
        try helper.start(environment: ["OPENSSL_CONF": conf, "SECMOD_MARKER": helperMark])
        let client = try helper.rsaClient()
        let now = Timestamp(microseconds: Clock.wallMicroseconds())
        let key = try #require(client.keys.first { $0.anchor <= now })
        let m = try RsaHelperTests.blindable(key)
        let s = try client.sign(hash: key.hash, blindedMessage: m)
        #expect(try RsaPublicKey(encoded: key.publicKey).verifyRaw(signature: s, message: m))
        #expect(helper.stop() == 0)
        #expect(!FileManager.default.fileExists(atPath: helperMark), "the helper loaded the OPENSSL_CONF module")
    }
}
