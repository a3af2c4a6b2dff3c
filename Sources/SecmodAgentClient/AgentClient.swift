import SecmodBase
import SecmodSystem
import SecmodWire

/// An async client of `secmod-agent` for other programs (tor's ask: every call has a
/// deadline, so a slow or failed backend is a timely error, never a hang). Each call runs
/// on its own connection and its own thread, so calls may overlap freely and none blocks
/// Swift's cooperative threads.
public struct AgentClient: Sendable {
    public let socketPath: String

    public init(socketPath: String) { self.socketPath = socketPath }

    public func identities(timeout: Duration) async throws(SecmodError) -> [AgentIdentity] {
        try await run { (c) throws(SecmodError) in try c.identities(timeout: timeout) }
    }

    public func sign(keyBlob: [UInt8], data: [UInt8], flags: AgentSignFlags = [], timeout: Duration) async throws(SecmodError) -> SSHSignature {
        try await run { (c) throws(SecmodError) in try c.sign(keyBlob: keyBlob, data: data, flags: flags, timeout: timeout) }
    }

    public func blindedKey(keyBlob: [UInt8], periodNumber: UInt64, periodLengthMinutes: UInt64, timeout: Duration) async throws(SecmodError) -> [UInt8] {
        try await run { (c) throws(SecmodError) in
            try c.blindedKey(keyBlob: keyBlob, periodNumber: periodNumber, periodLengthMinutes: periodLengthMinutes, timeout: timeout)
        }
    }

    public func blindSign(keyBlob: [UInt8], periodNumber: UInt64, periodLengthMinutes: UInt64, data: [UInt8],
                          timeout: Duration) async throws(SecmodError) -> (blindedKey: [UInt8], signature: [UInt8]) {
        try await run { (c) throws(SecmodError) in
            try c.blindSign(keyBlob: keyBlob, periodNumber: periodNumber, periodLengthMinutes: periodLengthMinutes, data: data, timeout: timeout)
        }
    }

    public func extensions(timeout: Duration) async throws(SecmodError) -> [String] {
        try await run { (c) throws(SecmodError) in try c.extensions(timeout: timeout) }
    }

    private func run<T: Sendable>(_ body: @escaping @Sendable (SSHAgentConnection) throws(SecmodError) -> T) async throws(SecmodError) -> T {
        let path = socketPath
        let result: Result<T, SecmodError> = await withCheckedContinuation { continuation in
            do throws(SecmodError) {
                try OSThread.start(name: "agent-client") {
                    let connection = SSHAgentConnection(socketPath: path)
                    defer { connection.close() }
                    continuation.resume(returning: Result { () throws(SecmodError) in try body(connection) })
                }.detach()
            } catch {
                continuation.resume(returning: .failure(error))
            }
        }
        return try result.get()
    }
}
