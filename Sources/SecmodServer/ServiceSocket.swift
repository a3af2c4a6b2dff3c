import SecmodBase
import SecmodSystem
#if canImport(Glibc)
import Glibc
#endif

/// The socket file a service listens on (a helper's UNIXPATH, the agent's), created so that
/// no one can take its place or talk to it before its mode is set.
package enum ServiceSocket {
    /// Creates the socket at `path` with `mode`, after making sure that no live service
    /// already serves it and that nobody else can replace it (its directory and those above).
    /// A stale socket file is removed; any other file there is refused.
    package static func open(path: String, stream: Bool, mode: UInt32) throws(SecmodError) -> SocketHandle {
        let address = try UnixAddress(path: path)
        try FileSystem.createDirectories(FileSystem.directoryName(of: path), mode: 0o750)
        // Whoever can write the socket's directory (or one above it) can replace the socket.
        try SocketDirectory.check(socketPath: path, owner: UInt32(geteuid()))
        if FileSystem.exists(path) {
            let st: FileStatus
            do throws(Errno) { st = try FileSystem.status(path, followLinks: false) } catch {
                throw error.error("stat \(path)")
            }
            guard st.isSocket else {
                throw SecmodError(.permission, "\(path) exists and is not a socket; refusing to remove it")
            }
            // Probe with both socket types: a stale file may be from either transport.
            var alive = false
            for kind in [UnixSocket.Kind.datagram, .stream] {
                let probe = try UnixSocket(kind)
                do throws(Errno) { try probe.connect(to: address); alive = true } catch {
                    // ECONNREFUSED: nobody is bound to it; EPROTOTYPE: the other type.
                }
            }
            if alive { throw SecmodError(.alreadyRunning, "another process is serving \(path)") }
            do throws(Errno) { try FileSystem.remove(path) } catch {
                throw error.error("removing stale socket \(path)")
            }
        }
        let socket = try UnixSocket(stream ? .stream : .datagram, nonBlocking: true)
        do throws(Errno) {
            // fchmod before bind sets the mode the socket file is created with, so there is
            // no moment when it is more open than `mode`; chmod after bind makes sure.
            // Before bind, so that no datagram can arrive without its sender's credentials.
            // Datagram: the INIT's credentials. Stream: inherited by every accepted connection,
            // so each read says who wrote it.
            try socket.setPassCredentials()
            try socket.descriptor.setMode(mode)
            try socket.bind(to: address)
            try FileSystem.changeMode(path, mode)
            if stream { try socket.listen(backlog: 512) }  // as Taler's helpers (wire.md §11)
        } catch {
            throw error.error("binding \(path)")
        }
        return SocketHandle(socket)
    }
}
