import Foundation
import SecmodClient
import SecmodSystem
import Testing

/// The client's side of "one message per datagram": a datagram whose header disagrees with
/// its length is not a message and is ignored, whatever it claims to be. A fake helper,
/// speaking raw datagrams, sends one before a valid SYNCED.
@Suite struct ClientFramingTests {
    @Test func aDatagramWhoseHeaderDisagreesWithItsLengthIsIgnored() throws {
        let root = FileManager.default.temporaryDirectory.path + "/secmod-fake-" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let path = root + "/server.sock"
        let main = try UnixSocket(.datagram)
        try main.setPassCredentials()
        try main.bind(to: UnixAddress(path: path))
        let fake = SocketHandle(main)

        let connected = Locked<Result<Int, SecmodError>?>(nil)
        let thread = try OSThread.start(name: "client") {
            let client = EddsaHelperClient(socketPath: path)
            do throws(SecmodError) {
                try client.connect(timeout: 5)
                connected.withLock { $0 = .success(client.keys.count) }
            } catch {
                connected.withLock { $0 = .failure(error) }
            }
        }
        var polls = PollSet()
        polls.add(fake.socket.rawValue, .readable)
        #expect(try polls.wait(timeoutMilliseconds: 5000) > 0, "no INIT")
        let initMessage = try #require(try fake.socket.receive(capacity: 64, blocking: false))
        #expect(initMessage.bytes == [0, 4, 0, 14])
        let session = try UnixSocket(.datagram)
        try session.setPassCredentials()  // autobinds: the client answers only a named sender
        try session.connect(to: initMessage.sender)
        _ = try session.send([0, 8, 0, 19])  // "SYNCED" whose header says 8 bytes: not a message
        _ = try session.send([0, 4, 0, 19])  // the real SYNCED
        thread.join()
        let outcome = try #require(connected.withLock { $0 })
        switch outcome {
        case let .success(keys): #expect(keys == 0)
        case let .failure(error): Issue.record("the client did not ignore the bad datagram: \(error)")
        }
    }
}
