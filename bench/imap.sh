#!/usr/bin/env bash
# bench/imap.sh — the large-mailbox IMAP benchmark, Posthorn and Dovecot side
# by side in one run, with the shared bench-imap-large.py (same generated
# mailbox, same metrics, same client), then the idle-session memory figure.
#
#   bench/imap.sh [-n MESSAGES] [-r REPETITIONS] [-k RUNS]
#
#   -n  messages in each INBOX (default 100000; filled once, kept between runs)
#   -r  repetitions of the measurement, alternating the servers (default 3)
#   -k  --runs of each repetition (default 5)
#
# Environment: PEERS (default /work/shared/peers: Dovecot via up.sh),
# DOVECOT_PORT (default 10143; up.sh is run when nothing listens there),
# OUT (default /tmp/imapbench: data, logs, JSON), PORT (Posthorn's IMAP port,
# default 12143), DOVECOT_USER (default imaptest@peer.test; bench@ is used
# by the SMTP benchmark, which empties it), COLD=1 to include the cold-cache
# samples (they drop the page cache of the whole machine), IDLE_SESSIONS
# (default 10000; 0 skips the memory figure).
#
# Prints a Markdown table of the medians (median of the per-repetition
# medians) and leaves the raw JSON in $OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PEERS=${PEERS:-/work/shared/peers}
OUT=${OUT:-/tmp/imapbench}
PORT=${PORT:-12143}
DOVECOT_USER=${DOVECOT_USER:-imaptest@peer.test}
DOVECOT_PORT=${DOVECOT_PORT:-10143}
N=100000 REPS=3 RUNS=5
while getopts n:r:k: o; do
	case $o in
	n) N=$OPTARG ;;
	r) REPS=$OPTARG ;;
	k) RUNS=$OPTARG ;;
	*) sed -n '2,22p' "$0"; exit 2 ;;
	esac
done
BENCH="$PEERS/bench-imap-large.py"
mkdir -p "$OUT"
COLDOPT=--no-cold
[ "${COLD:-0}" = 1 ] && COLDOPT=

# --- Posthorn: a dedicated instance on loopback ------------------------------
go build -o "$OUT/posthorn" ./cmd/posthorn
DATA="$OUT/posthorn-$N"
CONF="$OUT/posthorn-$N.toml"
cat >"$CONF" <<EOF
hostname = "bench.example.test"
data_dir = "$DATA"
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
EOF
if [ ! -d "$DATA" ]; then
	"$OUT/posthorn" domain add example.test --config "$CONF" >/dev/null
	echo password | "$OUT/posthorn" user add bench@example.test --config "$CONF" >/dev/null
fi
"$OUT/posthorn" serve --config "$CONF" >"$OUT/posthorn-$N.log" 2>&1 &
PH_PID=$!
trap 'kill $PH_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do
	python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 1)" 2>/dev/null && break
	sleep 0.2
done

# --- Dovecot: the shared reference peer ----------------------------------------
if ! python3 -c "import socket; socket.create_connection(('127.0.0.1', $DOVECOT_PORT), 1)" 2>/dev/null; then
	"$PEERS/up.sh"
fi

ph=(--port "$PORT" --user bench@example.test --password password)
dc=(--port "$DOVECOT_PORT" --user "$DOVECOT_USER" --password password)

# fill NAME ARGS...: fill the INBOX once (the script refuses a non-empty one).
fill() {
	local name=$1
	shift
	if python3 "$BENCH" "$@" --fill "$N" --json "$OUT/$name-fill-$N.json" >"$OUT/$name-fill-$N.log" 2>&1; then
		echo "$name: filled $(tail -1 "$OUT/$name-fill-$N.log")"
	elif grep -q "already has $N messages" "$OUT/$name-fill-$N.log"; then
		echo "$name: INBOX already filled with $N messages"
	else
		cat "$OUT/$name-fill-$N.log"
		exit 1
	fi
}
fill posthorn "${ph[@]}"
fill dovecot "${dc[@]}"

# --- measure, alternating ------------------------------------------------------
for rep in $(seq 1 "$REPS"); do
	for who in posthorn dovecot; do
		if [ $who = posthorn ]; then args=("${ph[@]}"); else args=("${dc[@]}"); fi
		python3 "$BENCH" "${args[@]}" --runs "$RUNS" $COLDOPT --json "$OUT/$who-$N-rep$rep.json" >"$OUT/$who-$N-rep$rep.log" 2>&1
		echo "$who repetition $rep done"
	done
done

python3 - "$OUT" "$N" "$REPS" <<'EOF'
import json, statistics, sys
out, n, reps = sys.argv[1], sys.argv[2], int(sys.argv[3])
def load(who):
    runs = [json.load(open("%s/%s-%s-rep%d.json" % (out, who, n, r)))["metrics"] for r in range(1, reps + 1)]
    return {k: statistics.median(r[k]["median_ms"] for r in runs if k in r) for k in runs[0]}
def fill(who):
    try:
        return json.load(open("%s/%s-fill-%s.json" % (out, who, n)))["fill"]["msg_per_s"]
    except (OSError, KeyError, ValueError):
        return None
ph, dc = load("posthorn"), load("dovecot")
names = [("select", "SELECT INBOX"), ("first_page_50", "FETCH newest 50 (ENVELOPE FLAGS INTERNALDATE RFC822.SIZE)"),
         ("uid_fetch_all_flags", "UID FETCH 1:* (UID FLAGS)"), ("search_subject", "UID SEARCH SUBJECT (1 % hits)"),
         ("search_text", "UID SEARCH TEXT (1 % hits)"), ("sort_reverse_date", "UID SORT (REVERSE DATE) UTF-8 ALL"),
         ("status", "STATUS INBOX, no SELECT"), ("store_seen_add_1000", "UID STORE +FLAGS (\\Seen), 1,000 messages"),
         ("store_seen_remove_1000", "UID STORE -FLAGS (\\Seen), same 1,000"), ("select_after_store", "SELECT right after that STORE"),
         ("cold_select", "SELECT, cold page cache"), ("cold_first_page_50", "first page, cold page cache"), ("login", "LOGIN")]
print("| metric (%s messages, ms, median of %d repetitions) | Posthorn | Dovecot | Posthorn/Dovecot |" % (n, reps))
print("|---|---:|---:|---:|")
for k, label in names:
    if k in ph and k in dc:
        print("| %s | %.2f | %.2f | %.2f |" % (label, ph[k], dc[k], ph[k] / dc[k] if dc[k] else float("nan")))
fp, fd = fill("posthorn"), fill("dovecot")
if fp and fd:
    print("| bulk APPEND (fill), messages/s | %.0f | %.0f | %.2f |" % (fp, fd, fp / fd))
EOF

if [ "${IDLE_SESSIONS:-10000}" != 0 ]; then
	go run ./bench/imapbench -n "${IDLE_SESSIONS:-10000}"
fi
