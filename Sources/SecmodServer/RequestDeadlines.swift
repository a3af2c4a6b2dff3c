/// The requests that must be answered by a time (`REQUEST_TIMEOUT`), oldest first.
///
/// Every request gets the same timeout, so deadlines arrive in the order requests were
/// read and a FIFO is a priority queue. Entries of requests answered in time are not
/// removed: when their time comes they find nothing left to fail. Pure data, owned by the
/// event loop.
struct RequestDeadlines {
    struct Entry: Equatable {
        let deadline: UInt64
        let session: UInt64
        let sequence: UInt64
    }

    private var entries = FIFO<Entry>()

    var count: Int { entries.count }

    /// The earliest deadline, for the loop's poll timeout.
    var next: UInt64? { entries.first?.deadline }

    mutating func add(deadline: UInt64, session: UInt64, sequence: UInt64) {
        assert(entries.last.map { $0.deadline <= deadline } ?? true, "deadlines must come in order")
        entries.append(Entry(deadline: deadline, session: session, sequence: sequence))
    }

    /// Removes and returns the entries due at `now`.
    mutating func due(now: UInt64) -> [Entry] {
        var result: [Entry] = []
        while let first = entries.first, first.deadline <= now {
            result.append(entries.popFirst()!)
        }
        return result
    }
}
