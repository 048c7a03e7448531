#!/usr/bin/env python3
"""Writes zlib-flush.txt: raw DEFLATE streams made by zlib (as IMAP clients
make them), flushed after every chunk.

Each stream starts with a line "stream NAME SHA256" (the SHA-256 of all its
plain text), followed by one line per flushed chunk: "HEX LENGTH", the
compressed octets and the number of plain octets they carry. The last chunk
of each stream is finished with Z_FINISH.

Run from this directory: python3 zlib-flush.py > zlib-flush.txt
"""
import hashlib
import random
import zlib

WORDS = (b"UID FETCH STORE +FLAGS.SILENT (\\Seen) (\\Flagged) APPEND INBOX "
         b"Subject: From: To: Date: Message-ID: the of and a to in is you that "
         b"it he was for on are as with his they I at be this have from or one "
         b"had by word but not what all were we when your can said there use "
         b"{408+} BODY.PEEK[] CHECK NOOP IDLE DONE LIST \"\" \"*\" SELECT").split()


def plain(rng, n):
    out = bytearray()
    while len(out) < n:
        if rng.random() < 0.02:
            out += bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 40)))
        else:
            out += rng.choice(WORDS) + rng.choice([b" ", b" ", b"\r\n"])
    return bytes(out[:n])


CONFIGS = [
    ("level1-partial", 1, zlib.Z_DEFAULT_STRATEGY, zlib.Z_PARTIAL_FLUSH),
    ("level6-partial", 6, zlib.Z_DEFAULT_STRATEGY, zlib.Z_PARTIAL_FLUSH),
    ("level9-partial", 9, zlib.Z_DEFAULT_STRATEGY, zlib.Z_PARTIAL_FLUSH),
    ("level6-sync", 6, zlib.Z_DEFAULT_STRATEGY, zlib.Z_SYNC_FLUSH),
    ("level6-full", 6, zlib.Z_DEFAULT_STRATEGY, zlib.Z_FULL_FLUSH),
    ("fixed-partial", 6, zlib.Z_FIXED, zlib.Z_PARTIAL_FLUSH),
    ("huffman-partial", 6, zlib.Z_HUFFMAN_ONLY, zlib.Z_PARTIAL_FLUSH),
    ("rle-partial", 6, zlib.Z_RLE, zlib.Z_PARTIAL_FLUSH),
    ("level0-partial", 0, zlib.Z_DEFAULT_STRATEGY, zlib.Z_PARTIAL_FLUSH),
]

rng = random.Random(4978)
for name, level, strategy, flush in CONFIGS:
    comp = zlib.compressobj(level, zlib.DEFLATED, -15, 8, strategy)
    lines, whole = [], b""
    for i in range(16):
        # Mostly command-sized chunks, some empty, a few large.
        n = rng.choice([0, rng.randrange(1, 40), rng.randrange(1, 300), rng.randrange(1, 3000)])
        data = plain(rng, n)
        whole += data
        if i == 15:
            out = comp.compress(data) + comp.flush(zlib.Z_FINISH)
        else:
            out = comp.compress(data) + comp.flush(flush)
        lines.append("%s %d" % (out.hex(), len(data)))
    print("stream", name, hashlib.sha256(whole).hexdigest())
    print("\n".join(lines))
