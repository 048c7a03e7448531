// Package sqlite is the embedded Store: modernc.org/sqlite (pure Go) in WAL
// mode with synchronous=FULL, plus message bodies as files under the data
// directory.
//
// Layout under the data directory:
//
//	posthorn.db         the database (with -wal and -shm beside it)
//	blobs/HHHHHH/ID     message bodies; HHHHHH is the hour of creation in hex,
//	                    so a burst of deliveries shares one directory fsync
//	tmp/                bodies being received, not yet committed
//
// Writes go through one committer goroutine that gathers every write waiting
// at that moment into one transaction (group commit): each write runs in its
// own SAVEPOINT, so one failing write does not undo the others, and all of
// them share one COMMIT and so one fsync of the WAL. A body is written to
// tmp/, fsynced by the writer's own goroutine (in parallel with others), and
// renamed into blobs/ by the committer, which fsyncs the target directories
// before COMMIT. So a committed row never names a body that is not on disk.
//
// Readers use a separate pool of connections and never wait for the writer.
package sqlite
