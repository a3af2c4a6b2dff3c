import SecmodBase
import SecmodSystem

/// Who may talk to the helper beyond what the socket file's mode allows: `CLIENT_USERS`
/// and `CLIENT_GROUPS`. The file mode (0620, group write) is the first gate; the allow-list
/// narrows it, so that one more account in the socket's group (a backup agent, a monitoring
/// user) does not become a signing oracle.
///
/// The kernel attests the caller: `SCM_CREDENTIALS` on every datagram (a descriptor passed
/// to another process sends with that process's credentials), `SO_PEERCRED` per stream
/// connection (fixed at connect time). Names are resolved once, at start: a user added to a
/// group later is admitted after the helper restarts.
public struct CallerPolicy: Sendable, Equatable {
    /// nil: no allow-list is configured, the socket file's mode alone decides.
    public let allowedUsers: Set<UInt32>?
    public let allowedGroups: Set<UInt32>

    public static let open = CallerPolicy(allowedUsers: nil, allowedGroups: [])

    public init(allowedUsers: Set<UInt32>?, allowedGroups: Set<UInt32>) {
        self.allowedUsers = allowedUsers
        self.allowedGroups = allowedGroups
    }

    /// Resolves the option values: names or numeric ids, separated by spaces or commas.
    /// An unknown name is a configuration error, never a silently narrower list.
    public init(users: String?, groups: String?, section: String) throws(SecmodError) {
        let userNames = Self.words(users), groupNames = Self.words(groups)
        if userNames.isEmpty && groupNames.isEmpty {
            self = .open
            return
        }
        var uids = Set<UInt32>(), gids = Set<UInt32>()
        for name in userNames {
            if let user = UserDatabase.user(named: name) {
                uids.insert(user.uid)
            } else if let number = UInt32(name) {
                uids.insert(number)
            } else {
                throw SecmodError(.configValue, "[\(section)] CLIENT_USERS: no user '\(name)'")
            }
        }
        for name in groupNames {
            if let group = UserDatabase.group(named: name) {
                gids.insert(group.gid)
                // Supplementary members: the credentials carry only the primary gid.
                for member in group.members {
                    if let user = UserDatabase.user(named: member) { uids.insert(user.uid) }
                }
            } else if let number = UInt32(name) {
                gids.insert(number)
            } else {
                throw SecmodError(.configValue, "[\(section)] CLIENT_GROUPS: no group '\(name)'")
            }
        }
        self.init(allowedUsers: uids, allowedGroups: gids)
    }

    /// False for a caller the allow-list does not name, and for one the kernel gave no
    /// credentials for (which cannot happen with SO_PASSCRED set; refusing is the safe side).
    public func admits(_ credentials: PeerCredentials?) -> Bool {
        guard let allowedUsers else { return true }
        guard let credentials else { return false }
        return allowedUsers.contains(credentials.uid) || allowedGroups.contains(credentials.gid)
    }

    private static func words(_ value: String?) -> [String] {
        (value ?? "").split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" }).map(String.init)
    }
}
