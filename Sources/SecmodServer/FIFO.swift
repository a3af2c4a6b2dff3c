/// A queue with O(1) append and removal at the front, and indexed access from the front:
/// the worker queue, session outboxes and the per-session reply order.
///
/// A removed element is released at once, not when the storage is next compacted: the
/// worker queue holds closures that keep session sockets open.
package struct FIFO<Element>: Sendable where Element: Sendable {
    private var storage: [Element?] = []
    private var head = 0

    package init() {}

    package var isEmpty: Bool { head == storage.count }
    package var count: Int { storage.count - head }
    package var first: Element? { isEmpty ? nil : storage[head] }
    package var last: Element? { isEmpty ? nil : storage[storage.count - 1] }

    package mutating func append(_ e: Element) { storage.append(e) }

    package mutating func popFirst() -> Element? {
        guard !isEmpty else { return nil }
        let e = storage[head]
        storage[head] = nil
        head += 1
        if head == storage.count {
            storage.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 64 && head * 2 > storage.count {
            storage.removeFirst(head)
            head = 0
        }
        return e
    }

    /// The element `offset` places from the front. Changed in place: a getter and setter
    /// pair copied the element out and back, and with it a batch's 256 reply slots at every
    /// signature filed (quadratic in the batch, most of a Clause-Schnorr batch's cost).
    subscript(offset: Int) -> Element {
        get { storage[head + offset]! }
        _modify { yield &storage[head + offset]! }
    }

    mutating func removeAll() {
        storage.removeAll()
        head = 0
    }
}
