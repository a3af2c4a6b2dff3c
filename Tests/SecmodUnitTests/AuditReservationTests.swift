import Foundation
import Logging
import SecmodKeys
@testable import SecmodServer
import SecmodSystem
import Testing

/// `AuditCounter`'s reservation written ahead (outside the counter's lock) against a real
/// audit directory: the file never says fewer signatures than were admitted, never more
/// than a block beyond them, and the clean stop leaves the exact count.
@Suite struct AuditReservationTests {
    private let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    private func directory() -> AuditDirectory {
        AuditDirectory(path: FileManager.default.temporaryDirectory.appendingPathComponent("audit-\(UUID())").path)
    }

    /// One signer: the reservation is renewed before it runs out, to `used + block`.
    @Test func theReservationIsWrittenAheadBeforeItRunsOut() throws {
        let dir = directory()
        defer { try? FileManager.default.removeItem(atPath: dir.path) }
        let counter = AuditCounter(directory: dir, section: "s", anchor: 1, key: "K", block: 16, logger: logger)
        #expect(counter.admit() == .admitted)  // none reserved yet: written on the spot, 1 + 16
        #expect(try dir.read(key: "K")?.signatures == 17)
        for _ in 2...9 { #expect(counter.admit() == .admitted) }  // 8 left: not yet under half a block
        #expect(try dir.read(key: "K")?.signatures == 17)
        #expect(counter.admit() == .admitted)  // 10 used, 7 left: ahead to 10 + 16
        #expect(try dir.read(key: "K")?.signatures == 26)
        // The loop never writes: within the reservation it admits, beyond it it declines.
        for _ in 11...26 { #expect(counter.admit(mayWrite: false) == .admitted) }
        #expect(counter.admit(mayWrite: false) == .wouldBlock)
        counter.close()
        let closed = try #require(try dir.read(key: "K"))
        #expect(closed.signatures == 26 && closed.state == .closed)
        #expect(counter.admit() == .retired, "nothing signs after the clean stop")
    }

    /// Four signers and a reader that compares the file with what was admitted so far; the
    /// reservations ahead written by the signer that notices, or by the helper's writer thread.
    @Test(arguments: [false, true]) func concurrentSignersNeverGetAheadOfTheFile(writerThread: Bool) throws {
        let dir = directory()
        defer { try? FileManager.default.removeItem(atPath: dir.path) }
        let block: UInt64 = 64
        let writer = writerThread ? AuditWriter() : nil
        let counter = AuditCounter(directory: dir, section: "s", anchor: 1, key: "K", block: block, logger: logger, writer: writer)
        let perThread = 3000
        let done = Locked(0)
        let violations = Locked<[String]>([])
        let reader = try OSThread.start(name: "test-audit-reader") {
            while done.withLock({ $0 }) < 4 {
                // Admitted first, then the file: the file may only have grown since.
                guard let admitted = counter.signatures?.count else { continue }
                guard let onDisk = try? dir.read(key: "K")?.signatures else { continue }
                if onDisk < admitted { violations.withLock { $0.append("file \(onDisk) < admitted \(admitted)") } }
            }
        }
        let signers = try (0..<4).map { i in
            try OSThread.start(name: "test-signer-\(i)") {
                for _ in 0..<perThread where counter.admit() != .admitted {
                    violations.withLock { $0.append("an admit was refused") }
                }
                done.withLock { $0 += 1 }
            }
        }
        for s in signers { s.join() }
        reader.join()
        writer?.shutdown()
        #expect(violations.withLock { $0 }.isEmpty, "\(violations.withLock { $0.prefix(3) })")
        let running = try #require(try dir.read(key: "K"))
        #expect(running.signatures >= 12_000 && running.signatures <= 12_000 + block, "\(running.signatures)")
        counter.close()
        #expect(try dir.read(key: "K")?.signatures == 12_000)
    }
}
