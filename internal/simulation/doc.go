// Package simulation tries hard to break Concord's promise with seeded,
// randomized runs, and checks it with an oracle written independently of
// the engine.
//
// The promise: after the systems stop changing and the engine has run a few
// cycles, (1) each system holds exactly one record per entity it takes,
// (2) all linked records are equal under the mappings, and (3) every
// property holds the value the policy says: the most recent non-empty user
// edit wins (a create counts as an edit of every property it sets, an edit
// to empty never wins), and a user's delete removes the entity everywhere,
// whatever edits were made to its other copies meanwhile.
//
// A run builds three memory systems (a, b, c) on one logical clock, with
// customers in all three (different field names, and a prefixing transform
// in c) and contacts referencing their customer in a and b. Each round
// plays users creating, editing and deleting records, then syncs with
// connector faults switched on, crashes at the engine's crash points
// followed by a restart on the same store, and more user actions made from
// inside the sync. A commit the engine runs while it reads on (Env.Async)
// is held by the simulation, landed at random before one of the engine's
// store reads, and landed or lost when a crash comes first (inflight.go). Then the faults stop and the engine runs until a cycle
// writes nothing and reads nothing new, and the oracle compares what the
// systems hold with what the log of user actions says they must hold. A
// seed reproduces the run exactly.
//
// The oracle sees only the memory systems (through their user-side API),
// the simulation's own action log, and a tap between the engine and the
// systems that records which record versions the engine was given and what
// it wrote. It never reads the engine or its store: the package does not
// import them, and the engine is built through a Factory the caller
// provides.
//
// Where no engine could do better, the simulation and the oracle say so
// instead of reporting a failure:
//
//   - The systems date whole records, not fields, so the engine can only
//     date a value by the first version it reads it in. An edit read in a
//     version written later (by an edit of another field) may look more
//     recent than it was; an edit changed again before the engine read it
//     is invisible; an edit that puts back the value the engine last read
//     is no change to the engine, and neither is one that sets what an
//     update or insert of the engine's sent when its outcome was unknown to
//     it (a lost answer, a timeout): the engine cannot know whether it
//     happened, and takes the value for the echo of its write. The oracle
//     allows the values that could
//     win on what the engine was given (see allowed), besides the value
//     the policy names.
//   - An empty page is a lie no engine can tell from "nothing new", so the
//     tap only tells it when it cannot hide a record the engine has never
//     listed, live or deleted, other than a live record an insert of the
//     engine's created: the engine knows that one, or holds the insert's
//     intent and must not take the empty page for proof that the insert
//     did not happen. A record listed only in a sync attempt that crashed
//     counts as never listed: the crash may have lost the page (its commit
//     in flight, or not begun). Likewise the oracle takes a version given
//     only in such an attempt as read or as never read, whichever allows
//     more.
//   - A deletion reaches a copy the engine never linked only when the
//     engine has evidence that the copy existed before it: a version dated
//     no later than the tombstone it was given. A copy a user made whose
//     every version the engine was given is dated after that tombstone
//     (made while its system could not be read, and edited after the
//     delete before the engine first read it) may be a record just created
//     that shares the key, and deleting it would be destructive. Then the
//     oracle accepts the entity deleted everywhere or kept as a new entity:
//     kept, it must meet the promise of a live entity, judged on the user
//     actions on the records that still hold it (the deleted copies took
//     their edits with them), and no record the engine was given from
//     before the deletion may remain (see keptAsNew).
//   - Users create an entity in two systems at once only before a round's
//     sync, not from inside it (the engine may have read one system before
//     the create and the other after it), and only delete records the
//     engine has been given in an attempt that did not crash (a record
//     made and deleted unseen, while a copy made by another user lives on,
//     is a case the policy does not settle).
package simulation
