import SecmodBase
import SecmodSystem

/// Completions from worker and maintenance threads to the event loop: a locked list and an
/// eventfd. Only the post that finds the list empty writes the eventfd, so a burst of
/// completions costs the loop one wake-up and the workers one syscall.
package final class Mailbox<Message: Sendable>: @unchecked Sendable {
    private let items = Locked<[Message]>([])
    package let counter: EventCounter

    package init() throws(SecmodError) {
        counter = try EventCounter()
    }

    package func post(_ message: Message) {
        let wasEmpty = items.withLock { list in
            list.append(message)
            return list.count == 1
        }
        if wasEmpty { counter.signal() }
    }

    /// Takes everything posted so far. The eventfd is drained first: a post that lands
    /// between the two steps either is taken now or signals again, never lost.
    package func takeAll() -> [Message] {
        counter.drain()
        return items.withLock { list in
            let taken = list
            list.removeAll(keepingCapacity: true)
            return taken
        }
    }
}
