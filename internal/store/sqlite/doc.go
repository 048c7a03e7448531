// Package sqlite is the embedded Store: modernc.org/sqlite (pure Go) in WAL
// mode with synchronous=FULL, plus message bodies in files under the data
// directory.
//
// Layout under the data directory:
//
//	posthorn.db         the database (with -wal and -shm beside it)
//	packs/              small bodies (up to 256 KiB), appended to pack files
//	                    (packs.go); Maintain compacts packs that are mostly dead
//	blobs/HHHHHH/ID     larger bodies, one file each; HHHHHH is the hour of
//	                    creation in hex, so a burst shares one directory fsync
//	tmp/                bodies being received, not yet committed
//
// Writes go through one committer goroutine that gathers every write waiting
// at that moment into one transaction (group commit, writer.go): they share
// one COMMIT, one fdatasync of the pack being appended to and one fsync of
// the WAL. Writes run without savepoints; when one fails the transaction is
// rolled back and the others run again without it. A committed row never
// names a body that is not on disk.
//
// The full-text index (FTS5, textindex.go) is built off the append path: an
// append leaves its body in blob_text_pending, and an indexer feeds FTS5 in
// large batches once appends pause. A search indexes what is pending first.
//
// Readers use a separate pool of connections and never wait for the writer.
package sqlite
