import SecmodBase
import SecmodSystem

/// Who may answer on a helper's socket: the owner of the socket file, and only when the
/// directories above it let nobody else replace it (dgram-transport.md, "The socket's
/// directory"). Everything the client later accepts on a session must come from that uid.
enum HelperSocketTrust {
    /// The socket file's owner uid, after checking that it is a socket in a directory only
    /// root or that uid can change. Throws `.unavailable` when there is no socket (the
    /// helper may not have started yet) and `.permission` when the directory is unsafe.
    static func owner(of socketPath: String) throws(SecmodError) -> UInt32 {
        let st: FileStatus
        do throws(Errno) { st = try FileSystem.status(socketPath, followLinks: false) } catch {
            throw SecmodError(.unavailable, "helper socket \(socketPath): \(error)", errno: error.rawValue)
        }
        guard st.isSocket else {
            throw SecmodError(.permission, "\(socketPath) is not a socket; refusing to talk to whatever it is")
        }
        try SocketDirectory.check(socketPath: socketPath, owner: st.uid, what: "the helper socket")
        return st.uid
    }

    /// The error for a message or connection from another uid than the socket's owner.
    static func impostor(_ credentials: PeerCredentials?, expected: UInt32, socketPath: String) -> SecmodError {
        let who = credentials.map { "uid \($0.uid) (pid \($0.pid))" } ?? "a sender without credentials"
        return SecmodError(.untrustedHelper, "a message on the session with \(socketPath) came from \(who), not from the socket's owner uid \(expected); the session was closed")
    }
}
