#!/usr/bin/env bash
# bench/smtp.sh — SMTP MX throughput of Posthorn against Postfix, in one run,
# with the same load tool (bench/smtpload) and the same load.
#
#   bench/smtp.sh [SESSIONS] [MESSAGES] [SIZE] [ROUNDS]
#     SESSIONS  concurrent sessions (default 20)
#     MESSAGES  messages per run, shared among the sessions (default 20000)
#     SIZE      octets per message (default 4096)
#     ROUNDS    runs per server, alternating (default 3), after one untimed
#               warm-up of 1000 messages each; the median of each is reported
#   KEEP_PEERS=1   leave Postfix running afterwards (default: stop it)
#
# Posthorn: built from this tree, a temporary config with SQLite under a temp
# dir (durability is always on: 250 only after the group commit's fsync), its
# MX on 127.0.0.1:$POSTHORN_PORT (default 2625), a local domain bench.test and
# the user bench@bench.test made with the CLI. Postfix + Dovecot: started with
# /work/shared/peers/up.sh, MX on 127.0.0.1:10025, recipient bench@peer.test
# (its INBOX is emptied before each Postfix run). Everything is on 127.0.0.1.
set -euo pipefail

SESSIONS="${1:-20}"; MESSAGES="${2:-20000}"; SIZE="${3:-4096}"; ROUNDS="${4:-3}"
PEERS=/work/shared/peers
PORT="${POSTHORN_PORT:-2625}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d /tmp/posthorn-bench.XXXXXX)"
POSTHORN_PID=""

cleanup() {
  if [ -n "$POSTHORN_PID" ] && kill -0 "$POSTHORN_PID" 2>/dev/null; then
    kill "$POSTHORN_PID"; wait "$POSTHORN_PID" 2>/dev/null || true
  fi
  if [ "${KEEP_PEERS:-0}" != 1 ]; then "$PEERS/down.sh" >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== building (in $WORK)"
(cd "$ROOT" && go build -o "$WORK/posthorn" ./cmd/posthorn && go build -o "$WORK/smtpload" ./bench/smtpload)

cat > "$WORK/posthorn.toml" <<EOF
hostname = "bench.posthorn.test"
data_dir = "$WORK/data"
[store]
driver = "sqlite"
[listen]
smtp = "127.0.0.1:$PORT"
submission = ""
submissions = ""
imap = ""
imaps = ""
pop3 = ""
pop3s = ""
http = ""
https = ""
metrics = ""
[limits]
max_connections_per_ip = $((SESSIONS + 10))
# No SPF/DKIM/DMARC lookups (the peers make none either, and a benchmark
# must not query real DNS); no MTA-STS lookups from the queue.
[mx]
checks = false
[queue]
mta_sts = false
[log]
level = "info"
EOF
export POSTHORN_CONFIG="$WORK/posthorn.toml"
"$WORK/posthorn" domain add bench.test >/dev/null
echo password | "$WORK/posthorn" user add bench@bench.test >/dev/null

echo "== starting Posthorn on 127.0.0.1:$PORT"
"$WORK/posthorn" serve >"$WORK/posthorn.log" 2>&1 &
POSTHORN_PID=$!
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
  sleep 0.1
done

echo "== starting Postfix + Dovecot ($PEERS/up.sh)"
"$PEERS/up.sh" >"$WORK/peers-up.log" 2>&1 || { tail -20 "$WORK/peers-up.log"; exit 1; }

# drain waits until Postfix has delivered its backlog to Dovecot, so that
# the next round (Posthorn's) does not share the CPUs with that work:
# Postfix answers 250 once queued and delivers afterwards, and that cost is
# Postfix's, counted in its own round.
drain() {
  for _ in $(seq 1200); do
    postqueue -c /tmp/peers/postfix/etc -p 2>/dev/null | grep -q "Mail queue is empty" && return 0
    sleep 0.1
  done
  echo "warning: Postfix's queue did not drain in 120 s" >&2
}

load() { # label addr rcpt
  "$WORK/smtpload" -json -label "$1" -addr "$2" -to "$3" -sessions "$SESSIONS" -messages "$MESSAGES" -size "$SIZE"
}

: >"$WORK/results.jsonl"
echo "== warming up both (1000 messages each, not counted)"
"$WORK/smtpload" -addr 127.0.0.1:10025 -to bench@peer.test -sessions "$SESSIONS" -messages 1000 -size "$SIZE" >/dev/null || true
drain
"$WORK/smtpload" -addr "127.0.0.1:$PORT" -to bench@bench.test -sessions "$SESSIONS" -messages 1000 -size "$SIZE" >/dev/null || true
uptime | sed 's/^/load before the runs: /'
for round in $(seq "$ROUNDS"); do
  python3 "$PEERS/mailcheck.py" imap-purge --port 10143 --user bench@peer.test >/dev/null ||
    echo "warning: could not empty bench@peer.test's INBOX" >&2
  # A run with failures still reports them (and is marked in the summary).
  load postfix 127.0.0.1:10025 bench@peer.test | tee -a "$WORK/results.jsonl" || true
  drain
  load posthorn "127.0.0.1:$PORT" bench@bench.test | tee -a "$WORK/results.jsonl" || true
done

uptime | sed 's/^/load after the runs: /'
echo "== summary ($SESSIONS sessions, $MESSAGES messages of $SIZE octets per run, $ROUNDS rounds)"
python3 - "$WORK/results.jsonl" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
by = {}
for r in runs:
    by.setdefault(r["label"], []).append(r)
med = {}
for label, rs in by.items():
    ok = all(r["failed"] == 0 for r in rs)
    rate = statistics.median(r["rate"] for r in rs)
    p99 = statistics.median(r["p99_ms"] for r in rs)
    med[label] = rate
    print(f"{label:9s} rate median {rate:8.0f} msg/s (runs: {', '.join('%.0f' % r['rate'] for r in rs)})"
          f"  p99 eod->250 median {p99:7.2f} ms (runs: {', '.join('%.2f' % r['p99_ms'] for r in rs)})"
          f"  {'all accepted' if ok else 'FAILURES'}")
if "posthorn" in med and "postfix" in med and med["postfix"] > 0:
    print(f"ratio posthorn/postfix (median rates): {med['posthorn'] / med['postfix']:.2f}x")
PY
grep -c 'msg=accepted' "$WORK/posthorn.log" | sed 's/^/posthorn "accepted" log lines: /'
