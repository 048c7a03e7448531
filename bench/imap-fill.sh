#!/usr/bin/env bash
# bench/imap-fill.sh — bulk APPEND, Posthorn and Dovecot side by side in one
# run: the shared bench-imap-large.py fills an empty INBOX with N generated
# messages (MULTIAPPEND, pipelined) on each server, alternating, R times.
#
#   bench/imap-fill.sh [-n MESSAGES] [-r REPETITIONS]
#
#   -n  messages per fill (default 10000)
#   -r  repetitions, alternating the servers (default 3)
#
# Posthorn gets a fresh data directory each repetition; Dovecot's INBOX
# (DOVECOT_USER, default imaptest2@peer.test) is emptied with mailcheck.py
# first. Environment: PEERS (default /work/shared/peers), DOVECOT_PORT
# (default 10143), PORT (Posthorn's IMAP port, default 12243), OUT (default
# /tmp/imapfill). Prints each fill and the medians.
set -euo pipefail
cd "$(dirname "$0")/.."
PEERS=${PEERS:-/work/shared/peers}
OUT=${OUT:-/tmp/imapfill}
PORT=${PORT:-12243}
DOVECOT_USER=${DOVECOT_USER:-imaptest2@peer.test}
DOVECOT_PORT=${DOVECOT_PORT:-10143}
N=10000 REPS=3
while getopts n:r: o; do
	case $o in
	n) N=$OPTARG ;;
	r) REPS=$OPTARG ;;
	*) sed -n '2,15p' "$0"; exit 2 ;;
	esac
done
BENCH="$PEERS/bench-imap-large.py"
mkdir -p "$OUT"
go build -o "$OUT/posthorn" ./cmd/posthorn
if ! python3 -c "import socket; socket.create_connection(('127.0.0.1', $DOVECOT_PORT), 1)" 2>/dev/null; then
	"$PEERS/up.sh"
fi

PH_PID=
trap '[ -n "$PH_PID" ] && kill $PH_PID 2>/dev/null || true' EXIT
posthorn_fresh() {
	[ -n "$PH_PID" ] && { kill $PH_PID; wait $PH_PID 2>/dev/null || true; }
	rm -rf "$OUT/data"
	cat >"$OUT/posthorn.toml" <<EOC
hostname = "bench.example.test"
data_dir = "$OUT/data"
[listen]
smtp = ""
submission = ""
imap = "127.0.0.1:$PORT"
pop3 = ""
http = ""
[auth]
allow_plaintext_on_loopback = true
[log]
level = "warn"
EOC
	"$OUT/posthorn" domain add example.test --config "$OUT/posthorn.toml" >/dev/null
	echo password | "$OUT/posthorn" user add bench@example.test --config "$OUT/posthorn.toml" >/dev/null
	"$OUT/posthorn" serve --config "$OUT/posthorn.toml" >"$OUT/posthorn.log" 2>&1 &
	PH_PID=$!
	for _ in $(seq 1 50); do
		python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 1)" 2>/dev/null && return
		sleep 0.2
	done
	echo "posthorn did not start" >&2
	exit 1
}

for rep in $(seq 1 "$REPS"); do
	posthorn_fresh
	python3 "$BENCH" --port "$PORT" --user bench@example.test --password password --fill "$N" \
		--json "$OUT/posthorn-$rep.json" >"$OUT/posthorn-$rep.log" 2>&1
	echo "posthorn $rep: $(tail -1 "$OUT/posthorn-$rep.log")"
	python3 "$PEERS/mailcheck.py" imap-purge --port "$DOVECOT_PORT" --user "$DOVECOT_USER" >/dev/null
	python3 "$BENCH" --port "$DOVECOT_PORT" --user "$DOVECOT_USER" --password password --fill "$N" --force \
		--json "$OUT/dovecot-$rep.json" >"$OUT/dovecot-$rep.log" 2>&1
	echo "dovecot  $rep: $(tail -1 "$OUT/dovecot-$rep.log")"
done

python3 - "$OUT" "$REPS" "$N" <<'EOP'
import json, statistics, sys
out, reps, n = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def med(who):
    return statistics.median(json.load(open("%s/%s-%d.json" % (out, who, r)))["fill"]["msg_per_s"] for r in range(1, reps + 1))
p, d = med("posthorn"), med("dovecot")
print("bulk APPEND of %s messages, median of %d: Posthorn %.0f msg/s, Dovecot %.0f msg/s, ratio %.2f" % (n, reps, p, d, p / d))
EOP
