import SecmodBase
import SecmodKeys
import SecmodWire

/// A key the helper currently serves and announces.
public final class ServedKey<Material: Sendable> {
    public let group: Int
    public let anchor: Timestamp
    public let duration: RelativeTime
    public let material: Material
    public let announcement: KeyAnnouncement
    /// Workers call `audit.admit()` before every signature with this key.
    let audit: AuditCounter

    init(group: Int, anchor: Timestamp, duration: RelativeTime, material: Material, announcement: KeyAnnouncement,
         audit: AuditCounter) {
        self.group = group
        self.anchor = anchor
        self.duration = duration
        self.material = material
        self.announcement = announcement
        self.audit = audit
    }

    public var id: [UInt8] { announcement.id }
}

/// The served keys, ordered by group and anchor (the order of the initial dump, wire.md §8.1), and
/// indexed by wire identity. Owned by the event loop thread; workers only ever see a key's
/// `material`, which keeps a revoked or expired key alive until its last signature is done.
public final class KeyRegistry<Material: Sendable> {
    public private(set) var ordered: [ServedKey<Material>] = []
    private var byID: [WireKeyID: ServedKey<Material>] = [:]

    public init() {}

    public func key(id: [UInt8]) -> ServedKey<Material>? { byID[WireKeyID(id)] }

    /// Inserts in dump order. Returns false (and inserts nothing) if the id is already served.
    @discardableResult
    func insert(_ key: ServedKey<Material>) -> Bool {
        guard byID[WireKeyID(key.id)] == nil else { return false }
        byID[WireKeyID(key.id)] = key
        let i = ordered.firstIndex { ($0.group, $0.anchor.microseconds) > (key.group, key.anchor.microseconds) } ?? ordered.count
        ordered.insert(key, at: i)
        return true
    }

    func remove(_ key: ServedKey<Material>) {
        byID[WireKeyID(key.id)] = nil
        ordered.removeAll { $0 === key }
    }

    func anchors(group: Int) -> [Timestamp] {
        ordered.filter { $0.group == group }.map(\.anchor)
    }

    public var count: Int { ordered.count }
}
