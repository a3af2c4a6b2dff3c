#if canImport(Glibc)
import Glibc
import SecmodBase
#endif

/// systemd's readiness protocol without libsystemd: one datagram to `$NOTIFY_SOCKET`
/// (a path, or an abstract name written with a leading '@'). Absent the variable, nothing
/// happens, so the helpers run the same under systemd and without it.
public enum ServiceNotification {
    /// Sends `state` ("READY=1", "STOPPING=1", "STATUS=…"); failures are ignored, as
    /// sd_notify's callers ignore them: readiness is a courtesy to the service manager.
    public static func send(_ state: String) {
        guard let raw = getenv("NOTIFY_SOCKET") else { return }
        let target = String(cString: raw)
        guard !target.isEmpty,
              let address = try? UnixAddress(notifySocket: target),
              let socket = try? UnixSocket(.datagram) else { return }
        _ = try? socket.send(Array(state.utf8), to: address)
    }
}

extension UnixAddress {
    /// `$NOTIFY_SOCKET`'s syntax: a path, or '@' and an abstract name.
    public init(notifySocket: String) throws(SecmodError) {
        if notifySocket.hasPrefix("@") {
            self.init(abstract: Array(notifySocket.utf8.dropFirst()))
        } else {
            try self.init(path: notifySocket)
        }
    }
}
