import SecmodBase
import SecmodCrypto
import SecmodKeys
import SecmodSystem
import SecmodWire

/// What distinguishes one helper from another: how its keys are made, stored, announced
/// and used. The engine (event loop, sessions, workers, schedule) is the same for all; the
/// EdDSA and RSA helpers each supply one `KeyFamily`, and a Clause-Schnorr family fits the
/// same slot.
public protocol KeyFamily: Sendable {
    /// The private key in memory, shared read-only with worker threads.
    associatedtype Material: Sendable

    /// For logs: "eddsa", "rsa".
    var name: String { get }
    var messageTypes: FamilyMessageTypes { get }
    /// The independently scheduled key chains (one for EdDSA, one per denomination for RSA).
    var groups: [KeyGroup] { get }

    /// The largest key file this family writes or reads.
    /// Lines the engine logs at MESSAGE once it listens: configuration it leaves to other
    /// programs on purpose, which an operator must not mistake for keys gone missing.
    var startupNotices: [String] { get }
    var maximumKeyFileSize: Int { get }
    func isPlausibleKeyFileSize(_ size: Int64) -> Bool

    /// The kind of key each group uses; a key store makes and keeps it (`KeyStores`), and
    /// the family never learns which store that is.
    func algorithm(group: Int) -> KeyAlgorithm

    /// The family's view of a key a store made or loaded; throws if it is of another kind.
    func material(_ key: StoredKey) throws(SecmodError) -> Material

    /// The reply to a signature the helper could not make in time or at all (a token that
    /// failed or hangs): the family's SIGN_FAILURE with its helper-unavailable code.
    var unavailableReply: [UInt8] { get }

    /// How keys held in files are used (the RSA helper's `RSA_ENGINE`).
    var fileStore: FileKeyStore { get }

    /// The key's identity on the wire and its cached AVAIL and PURGE messages.
    /// Throws if the security module key cannot sign (a token that failed). Runs off the
    /// event loop for new keys (the key maintainer), and at start for loaded ones.
    func announce(_ material: Material, group: Int, anchor: Timestamp, duration: RelativeTime,
                  securityModule: any Ed25519Signer) throws(SecmodError) -> KeyAnnouncement

    /// Interprets one request from a session. Runs on the event loop, so it only validates
    /// and looks keys up; signing goes into the returned work items.
    func handle(request: [UInt8], header: MessageHeader, keys: KeyRegistry<Material>, now: UInt64) -> RequestOutcome
}

extension KeyFamily {
    public var fileStore: FileKeyStore { FileKeyStore() }
}

/// The message types the engine itself must know.
public struct FamilyMessageTypes: Sendable {
    public let initialize: UInt16
    public let synced: UInt16
    public let signFailure: UInt16
    /// Types that only a helper sends; receiving one is a client bug.
    public let helperToClient: Set<UInt16>

    public init(initialize: UInt16, synced: UInt16, signFailure: UInt16, helperToClient: Set<UInt16>) {
        self.initialize = initialize
        self.synced = synced
        self.signFailure = signFailure
        self.helperToClient = helperToClient
    }
}

/// One chain of keys: its name (the `[coin_*]` section for RSA, empty for EdDSA), its
/// schedule and where its files live.
public struct KeyGroup: Sendable {
    public let name: String
    public let schedule: KeySchedule
    public let directory: KeyDirectory

    public init(name: String, schedule: KeySchedule, directory: KeyDirectory) {
        self.name = name
        self.schedule = schedule
        self.directory = directory
    }
}

public struct KeyAnnouncement: Sendable {
    /// How requests name the key: the public key (EdDSA) or `h_rsa` (RSA).
    public let id: [UInt8]
    public let avail: [UInt8]
    public let purge: [UInt8]

    public init(id: [UInt8], avail: [UInt8], purge: [UInt8]) {
        self.id = id
        self.avail = avail
        self.purge = purge
    }
}

/// One reply slot of a request: ready now, or computed by a worker.
public enum WorkItem: Sendable {
    case immediate([UInt8])
    case sign(SigningJob)
}

/// A signature to make, normally on a worker.
///
/// A quick job (an Ed25519 signature, about 18 µs) may run on the event loop instead when
/// no worker is busy: a lone client then does not wait for a worker's wake-up, which costs
/// more than the signature. It must not block there: `body(false)` returns nil when it would
/// (a counter reservation to write and fsync), and the job goes to a worker after all.
public struct SigningJob: Sendable {
    public let isQuick: Bool
    private let body: @Sendable (_ mayBlock: Bool) -> [UInt8]?

    /// A job only a worker runs (an RSA signature takes milliseconds).
    public static func onWorker(_ body: @escaping @Sendable () -> [UInt8]) -> SigningJob {
        SigningJob(isQuick: false) { _ in body() }
    }

    /// A job the loop may run when `quick` holds; `body(false)` must not block and returns
    /// nil if it would.
    public static func quick(when quick: Bool = true, _ body: @escaping @Sendable (_ mayBlock: Bool) -> [UInt8]?) -> SigningJob {
        SigningJob(isQuick: quick, body: body)
    }

    /// On a worker: may block, always answers.
    func run() -> [UInt8] {
        guard let reply = body(true) else { preconditionFailure("a signing job declined to run where it may block") }
        return reply
    }

    /// On the loop: the reply, or nil when the job must go to a worker.
    func runWithoutBlocking() -> [UInt8]? { isQuick ? body(false) : nil }
}

/// What the engine does with a request.
public enum RequestOutcome: Sendable {
    /// Replies, in order, one per item, then `trailer` if any (a batch that broke part-way).
    case reply([WorkItem], trailer: [UInt8]?)
    /// Revoke the key with this id. No reply.
    case revoke(id: [UInt8])
    /// Drop without a reply; logged at a limited rate under `reason`.
    case drop(reason: String)
    /// A malformed request where Taler's stream helpers close the connection (wire.md
    /// §8.3). A stream connection is closed; a datagram session, which has no connection
    /// to close, gets SIGN_FAILURE 26 so the client fails fast (dgram-transport.md §6.3).
    case violation(reason: String)
}
