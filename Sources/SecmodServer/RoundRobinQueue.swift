/// Jobs queued per owner (a session), taken one owner at a time in turn.
///
/// A flood from one session must not delay another session's request behind everything it
/// sent: with a single FIFO, a request waits for every job queued before it. Here a new
/// request waits for at most one job of each other owner with work queued
/// (docs/spec/dgram-transport.md §7.3). Within one owner, jobs keep their order.
///
/// Pure data: the worker pool holds it under its lock.
struct RoundRobinQueue<Owner: Hashable & Sendable, Job: Sendable>: Sendable {
    private var queues: [Owner: FIFO<Job>] = [:]
    /// Owners with jobs queued, in the order they are served next; each appears once.
    private var turn = FIFO<Owner>()
    /// The owners in `turn`: an owner whose jobs were removed keeps its place until it is
    /// reached, and must not get a second place if it queues again before then.
    private var inTurn: Set<Owner> = []
    private(set) var count = 0

    init() {}

    var isEmpty: Bool { count == 0 }

    mutating func append(_ job: Job, for owner: Owner) {
        if inTurn.insert(owner).inserted { turn.append(owner) }
        queues[owner, default: FIFO()].append(job)
        count += 1
    }

    /// The next owner's oldest job; that owner then goes to the back of the turn.
    mutating func popNext() -> Job? {
        while let owner = turn.popFirst() {
            // Taken out while it is changed, so that the FIFO is not copied.
            guard var queue = queues.removeValue(forKey: owner), let job = queue.popFirst() else {
                inTurn.remove(owner)  // its jobs were removed meanwhile
                continue
            }
            count -= 1
            if queue.isEmpty {
                inTurn.remove(owner)
            } else {
                queues[owner] = queue
                turn.append(owner)
            }
            return job
        }
        return nil
    }

    /// Removes every job of `owner` (its session closed). Returns how many.
    @discardableResult
    mutating func removeAll(of owner: Owner) -> Int {
        guard let queue = queues.removeValue(forKey: owner) else { return 0 }
        count -= queue.count
        return queue.count  // its place in `turn` is skipped when reached
    }

    /// Removes the jobs of `owner` that `predicate` picks, keeping the order of the rest
    /// (a request answered by REQUEST_TIMEOUT). Returns how many.
    @discardableResult
    mutating func removeAll(of owner: Owner, where predicate: (Job) -> Bool) -> Int {
        guard var queue = queues.removeValue(forKey: owner) else { return 0 }
        var kept = FIFO<Job>()
        var removed = 0
        while let job = queue.popFirst() {
            if predicate(job) { removed += 1 } else { kept.append(job) }
        }
        count -= removed
        if !kept.isEmpty { queues[owner] = kept }  // an emptied owner's place in `turn` is skipped
        return removed
    }

    mutating func removeAll() {
        queues.removeAll()
        turn.removeAll()
        inTurn.removeAll()
        count = 0
    }
}
