import Foundation
import SecmodClient
import SecmodSystem
import Testing

/// The client's side of "one message per packet": a packet whose header disagrees with its
/// length is not a message and is ignored, whatever it claims to be. A fake helper sends
/// one before a valid SYNCED.
@Suite struct ClientFramingTests {
    @Test func aPacketWhoseHeaderDisagreesWithItsLengthIsIgnored() throws {
        // "SYNCED" whose header says 8 bytes: not a message; then the real SYNCED.
        let fake = try FakeHelper(transport: .datagram, dump: [[0, 8, 0, 19], [0, 4, 0, 19]]) { _ in [] }
        defer { fake.stop() }
        let client = EddsaHelperClient(socketPath: fake.socketPath)
        do {
            try client.connect(timeout: .seconds(5))
            #expect(client.keys.isEmpty)
        } catch {
            Issue.record("the client did not ignore the bad packet: \(error)")
        }
    }

    /// On a stream, a header whose size is less than a header cannot be framed past: the
    /// client ends the connection and reports it, instead of reading on and re-framing from
    /// the next byte (where a valid SYNCED follows here).
    @Test func aStreamFrameSmallerThanAHeaderEndsTheConnection() throws {
        let fake = try FakeHelper(transport: .stream, dump: [[0, 2, 0, 19, 0, 4, 0, 19]]) { _ in [] }
        defer { fake.stop() }
        let client = EddsaHelperClient(socketPath: fake.socketPath, transport: .stream)
        do {
            try client.connect(timeout: .seconds(5))
            Issue.record("the client accepted a stream after a frame of size 2")
        } catch {
            #expect(error.code == .malformed, "\(error)")
        }
        #expect(client.keys.isEmpty)
    }
}
