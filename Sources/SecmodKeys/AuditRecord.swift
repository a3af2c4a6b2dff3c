import SecmodBase
import SecmodSystem

/// One key's signature count on disk (DD 10, "Taler Exchange Secmod": "determine the number of signatures
/// obtained illicitly"). A small text file, so that an operator can read it without tools:
///
///     section = coin_eur_1
///     anchor = 1700000000
///     key = <Crockford base32 of the public key (EdDSA) or h_rsa (RSA)>
///     signatures = 8192
///     overcount_bound = 4096
///     state = signing
///     revoked = no
///
/// `signatures` is never below the number of signatures the helper made with the key: the
/// helper writes it *before* it uses the counts (a reserved block). At most
/// `overcount_bound` of them may not have been made. After clean stops only, the bound is 0
/// and the count exact; each crash can add at most one block (`AUDIT_BLOCK`) to it.
///
/// `revoked = yes` is written, durably, before a revocation is acted on. A key file whose
/// record says so is never served again, even if its successor never reached the disk.
public struct AuditRecord: Sendable, Equatable {
    public enum State: String, Sendable {
        /// The helper holds a reservation: it is running, or it crashed.
        case signing
        /// The helper stopped cleanly and wrote its exact count.
        case closed
    }

    public var section: String
    public var anchorSeconds: UInt64
    public var key: String
    public var signatures: UInt64
    public var overcountBound: UInt64
    public var state: State
    public var revoked: Bool

    public init(section: String, anchorSeconds: UInt64, key: String, signatures: UInt64, overcountBound: UInt64, state: State,
                revoked: Bool = false) {
        self.section = section
        self.anchorSeconds = anchorSeconds
        self.key = key
        self.signatures = signatures
        self.overcountBound = overcountBound
        self.state = state
        self.revoked = revoked
    }

    /// The file name: the key's identity, which is unique (a revoked key and its successor
    /// share an anchor, never a key).
    public static func fileName(key: String) -> String { key + ".count" }

    public func encode() -> String {
        """
        # swift-secmod signature audit counter; see README, "Signature audit counters".
        section = \(section)
        anchor = \(anchorSeconds)
        key = \(key)
        signatures = \(signatures)
        overcount_bound = \(overcountBound)
        state = \(state.rawValue)
        revoked = \(revoked ? "yes" : "no")

        """
    }

    public static func parse(_ text: String, file: String) throws(SecmodError) -> AuditRecord {
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("#") { continue }
            guard let eq = line.firstIndex(of: "=") else {
                throw SecmodError(.keyFile, "audit counter \(file): line without '=': \(line.prefix(60))")
            }
            let name = line[..<eq].trimmingSpaces(), value = line[line.index(after: eq)...].trimmingSpaces()
            fields[name] = value
        }
        func field(_ name: String) throws(SecmodError) -> String {
            guard let value = fields[name] else { throw SecmodError(.keyFile, "audit counter \(file): no '\(name)'") }
            return value
        }
        func number(_ name: String) throws(SecmodError) -> UInt64 {
            guard let value = UInt64(try field(name)) else { throw SecmodError(.keyFile, "audit counter \(file): '\(name)' is not a number") }
            return value
        }
        guard let state = State(rawValue: try field("state")) else {
            throw SecmodError(.keyFile, "audit counter \(file): unknown state '\(try field("state"))'")
        }
        let revoked: Bool
        switch fields["revoked"] {
        case nil, "no": revoked = false
        case "yes": revoked = true
        case let other?: throw SecmodError(.keyFile, "audit counter \(file): 'revoked' is '\(other)', not yes or no")
        }
        return AuditRecord(section: try field("section"), anchorSeconds: try number("anchor"), key: try field("key"),
                           signatures: try number("signatures"), overcountBound: try number("overcount_bound"), state: state,
                           revoked: revoked)
    }
}

extension Substring {
    fileprivate func trimmingSpaces() -> String {
        var s = self
        while let c = s.first, c == " " || c == "\t" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" || c == "\r" { s.removeLast() }
        return String(s)
    }
}
