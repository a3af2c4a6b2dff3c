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
            try client.connect(timeout: 5)
            #expect(client.keys.isEmpty)
        } catch {
            Issue.record("the client did not ignore the bad packet: \(error)")
        }
    }
}
