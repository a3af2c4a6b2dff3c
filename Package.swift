// swift-tools-version:6.1
import PackageDescription

/// Layout mirrors the architecture: C bridges at the bottom, then system wrappers, crypto,
/// wire codec, configuration, key lifecycle, the server engine and the client, and thin
/// executables on top. Each layer depends only on the ones below it.
///
/// Linux only (epoll, signalfd, eventfd, SCM_CREDENTIALS, prctl); SwiftPM has no way to say
/// so, so no `platforms` entry claims otherwise. Each target declares exactly the modules
/// it imports.
let package = Package(
    name: "swift-secmod",
    products: [
        .executable(name: "taler-exchange-secmod-eddsa", targets: ["taler-exchange-secmod-eddsa"]),
        .executable(name: "taler-exchange-secmod-rsa", targets: ["taler-exchange-secmod-rsa"]),
        .executable(name: "taler-exchange-secmod-cs", targets: ["taler-exchange-secmod-cs"]),
        .executable(name: "secmod-agent", targets: ["secmod-agent"]),
        .executable(name: "secmod", targets: ["secmod"]),
        .executable(name: "secmod-bench", targets: ["secmod-bench"]),
        .library(name: "SecmodClient", targets: ["SecmodClient"]),
        .library(name: "SecmodAgentClient", targets: ["SecmodAgentClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        // C bridges. Nothing above SecmodCrypto and SecmodSystem imports these.
        .systemLibrary(name: "CSodium", pkgConfig: "libsodium",
                       providers: [.apt(["libsodium-dev"])]),
        .systemLibrary(name: "CGcrypt", pkgConfig: "libgcrypt",
                       providers: [.apt(["libgcrypt20-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto",
                       providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CNettle", pkgConfig: "hogweed",
                       providers: [.apt(["nettle-dev", "libgmp-dev"])]),
        // PKCS#11's types only: a token's library is opened at run time (SecmodPkcs11). No
        // pkg-config: its `--libs` made every program link libp11-kit (and libffi), which
        // nothing calls, for 0.45 MB of each helper's resident memory.
        .systemLibrary(name: "CPkcs11", providers: [.apt(["libp11-kit-dev"])]),
        .target(name: "CSecmodShim"),

        // The vocabulary every layer shares: the one error type and GNUnet's time.
        .target(name: "SecmodBase"),
        .target(name: "SecmodSystem", dependencies: ["CSecmodShim", "SecmodBase"]),
        .target(name: "SecmodCrypto", dependencies: ["CSodium", "CGcrypt", "COpenSSL", "CNettle", "SecmodBase", "SecmodSystem"]),
        .target(name: "SecmodWire", dependencies: ["SecmodBase", "SecmodSystem"]),
        .target(name: "SecmodConfig", dependencies: ["SecmodBase", "SecmodSystem"]),
        // A PKCS#11 token through its module (dlopen): sessions, key generation, signing.
        .target(name: "SecmodPkcs11", dependencies: ["CPkcs11", "SecmodBase", "SecmodSystem", "SecmodCrypto"]),
        .target(name: "SecmodKeys", dependencies: ["SecmodBase", "SecmodSystem", "SecmodCrypto", "SecmodWire", "SecmodPkcs11"]),
        .target(name: "SecmodServer", dependencies: [
            "SecmodPkcs11",
            "SecmodBase", "SecmodSystem", "SecmodCrypto", "SecmodWire", "SecmodConfig", "SecmodKeys",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // The key vault for other programs: the ssh-agent protocol on the same engine parts.
        .target(name: "SecmodAgent", dependencies: [
            "SecmodBase", "SecmodSystem", "SecmodCrypto", "SecmodWire", "SecmodConfig", "SecmodKeys", "SecmodPkcs11", "SecmodServer",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "SecmodClient", dependencies: ["SecmodBase", "SecmodSystem", "SecmodCrypto", "SecmodWire"]),
        // A client of secmod-agent (or any ssh-agent) for other programs: async calls with deadlines.
        .target(name: "SecmodAgentClient", dependencies: ["SecmodBase", "SecmodSystem", "SecmodWire"]),
        // The offline signer's documents (future keys, master signatures) and policy: what
        // `secmod` checks before the master key signs. The helpers do not link it.
        .target(name: "SecmodOffline", dependencies: [
            "SecmodBase", "SecmodSystem", "SecmodCrypto", "SecmodWire", "SecmodConfig", "SecmodKeys",
        ]),

        // What every helper's `main` does before the engine runs: options, configuration,
        // logging, hardening, exit statuses.
        .target(name: "SecmodHelperMain", dependencies: [
            "SecmodBase", "SecmodSystem", "SecmodCrypto", "SecmodConfig", "SecmodServer", "SecmodAgent",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "taler-exchange-secmod-eddsa", dependencies: ["SecmodBase", "SecmodHelperMain", "SecmodServer"]),
        .executableTarget(name: "taler-exchange-secmod-rsa", dependencies: ["SecmodBase", "SecmodHelperMain", "SecmodServer"]),
        .executableTarget(name: "taler-exchange-secmod-cs", dependencies: ["SecmodBase", "SecmodHelperMain", "SecmodServer"]),
        .executableTarget(name: "secmod-agent", dependencies: ["SecmodBase", "SecmodHelperMain"]),
        .executableTarget(name: "secmod", dependencies: [
            "SecmodAgentClient", "SecmodBase", "SecmodClient", "SecmodConfig", "SecmodCrypto", "SecmodKeys", "SecmodOffline", "SecmodServer", "SecmodSystem",
            "SecmodWire", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // The benchmark starts the real helper binaries, so `swift run secmod-bench` builds them.
        .executableTarget(name: "secmod-bench", dependencies: [
            "SecmodAgentClient", "SecmodBase", "SecmodClient", "SecmodCrypto", "SecmodKeys", "SecmodPkcs11", "SecmodSystem", "SecmodWire",
            "taler-exchange-secmod-eddsa", "taler-exchange-secmod-rsa", "taler-exchange-secmod-cs", "secmod-agent",
        ]),

        // Fuzzing: the decoders of untrusted input as libFuzzer targets (contrib/fuzz.sh). The
        // targets are a library so that the unit tests replay saved crashers; CFuzzDriver
        // finds libFuzzer when the executable is built with -sanitize=fuzzer.
        .target(name: "SecmodFuzzTargets", dependencies: [
            "SecmodBase", "SecmodSystem", "SecmodCrypto", "SecmodWire", "SecmodConfig", "SecmodOffline", "SecmodKeys",
        ]),
        .target(name: "CFuzzDriver"),
        .executableTarget(name: "secmod-fuzz", dependencies: ["SecmodFuzzTargets", "CFuzzDriver"]),

        // Test vectors both test targets use.
        .target(name: "SecmodTestVectors", dependencies: ["SecmodCrypto"], path: "Tests/SecmodTestVectors"),
        .testTarget(name: "SecmodUnitTests", dependencies: [
            "SecmodBase", "SecmodSystem", "SecmodCrypto", "SecmodWire", "SecmodConfig", "SecmodKeys", "SecmodFuzzTargets", "SecmodServer",
            "SecmodOffline", "SecmodClient", "SecmodTestVectors", "SecmodAgent", "SecmodAgentClient",
            .product(name: "Logging", package: "swift-log"),
        ], exclude: ["Fixtures"]),
        .testTarget(name: "SecmodHelperTests", dependencies: [
            "SecmodBase", "SecmodSystem", "SecmodCrypto", "SecmodWire", "SecmodConfig", "SecmodKeys", "SecmodClient",
            "SecmodOffline", "SecmodTestVectors", "SecmodHelperMain", "SecmodAgentClient",
            "taler-exchange-secmod-eddsa", "taler-exchange-secmod-rsa", "taler-exchange-secmod-cs", "secmod", "secmod-agent",
        ]),
    ],
    swiftLanguageModes: [.v6]
)
