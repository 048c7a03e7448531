// Package inflate decodes a raw DEFLATE stream (RFC 1951) as it arrives,
// for protocols that compress an interactive session: IMAP COMPRESS=DEFLATE
// (RFC 4978).
//
// Why not compress/flate: a client such as mbsync ends each command with
// zlib's Z_PARTIAL_FLUSH or Z_SYNC_FLUSH and then waits for the answer. Both
// Go inflaters (compress/flate and github.com/klauspost/compress/flate) keep
// the last octets of such a chunk until more input arrives, so the session
// hangs. This decoder hands out every octet as soon as it is decoded.
//
// What it owns: the three block types of RFC 1951 §3.2.3 (stored §3.2.4,
// fixed Huffman §3.2.6, dynamic Huffman §3.2.7), the 32 KiB history
// window, and the checks that reject corrupt input with a *CorruptError.
//
// What it must not do: read the zlib (RFC 1950) or gzip (RFC 1952)
// wrappers, compress, or keep mutable package state (the RFC's length and
// distance tables are read-only).
//
// Invariants:
//   - Input is read one octet at a time, and only when the decoder cannot
//     make progress without it: a Huffman code is matched against the bits
//     already read, and another octet is read only when the code is longer
//     than those bits. So the decoder never takes an octet it does not yet
//     need, and never reads past the end of the final block.
//   - The underlying reader is never asked for input that could block while
//     a decoded octet waits for the caller: with octets pending, the decoder
//     reads on only while the reader has input buffered (Buffered of a
//     *bufio.Reader, Len of a *bytes.Reader), and otherwise returns what it
//     has.
//   - Memory is one fixed allocation per reader (the window and the code
//     tables, about 40 KiB); nothing grows with the input.
//   - Decoding is linear: a code is found by one table lookup, or bit by bit
//     in at most 15 steps (again after each octet read for it).
//   - Corrupt input is a sticky *CorruptError; an error from the underlying
//     reader is returned (io.EOF as io.ErrUnexpectedEOF) but not kept, and
//     a later Read retries from where the stream stopped.
package inflate
