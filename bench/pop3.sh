#!/usr/bin/env bash
# bench/pop3.sh — POP3 download rate of Posthorn against Dovecot, in one run,
# with the same client (bench/pop3bench) and the same mailbox contents.
#
#   bench/pop3.sh [MESSAGES] [SIZE] [ROUNDS]
#     MESSAGES  messages in the mailbox (default 1000)
#     SIZE      octets of body per message (default 51200, 50 KiB)
#     ROUNDS    timed downloads per server and mode, alternating between the
#               servers (default 5; one untimed warm-up each before); the
#               median is reported
#   KEEP_PEERS=1        leave Postfix + Dovecot running afterwards (default: stop
#                       them, unless they were already running when this started:
#                       then someone else is using them)
#   PEER_USER=addr      Dovecot account (default imaptest2@peer.test, one the
#                       other benchmarks leave alone); its INBOX must be empty
#                       at the start and is emptied again at the end
#
# Each download: one connection, USER/PASS, STAT, then RETR 1 .. RETR n, each
# read to its terminating line, timed from the first RETR to the last line.
# "sequential" sends each RETR after the previous response (as fetchmail and
# most clients do); "pipelined" sends them all at once (RFC 2449 PIPELINING,
# which both servers announce).
#
# Posthorn: built from this tree, SQLite under a temp dir, MX on
# 127.0.0.1:$POSTHORN_SMTP_PORT (default 2725) and POP3 on
# 127.0.0.1:$POSTHORN_POP3_PORT (default 2710), the user bench@bench.test.
# Dovecot: /work/shared/peers/up.sh (Postfix MX 127.0.0.1:10025 delivering by
# LMTP, Dovecot POP3 127.0.0.1:10110). Both mailboxes are filled over SMTP
# with the same generated messages (pop3bench fill: text lines, one in 40
# beginning with a dot). Everything is on 127.0.0.1.
set -euo pipefail

MESSAGES="${1:-1000}"; SIZE="${2:-51200}"; ROUNDS="${3:-5}"
PEERS=/work/shared/peers
SMTP_PORT="${POSTHORN_SMTP_PORT:-2725}"
POP3_PORT="${POSTHORN_POP3_PORT:-2710}"
PEER_USER="${PEER_USER:-imaptest2@peer.test}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d /tmp/posthorn-pop3bench.XXXXXX)"
POSTHORN_PID=""
PEER_FILLED=0
PEERS_WERE_UP=0
(exec 3<>/dev/tcp/127.0.0.1/10110) 2>/dev/null && PEERS_WERE_UP=1

cleanup() {
  if [ "$PEER_FILLED" = 1 ]; then
    "$WORK/pop3bench" clear -pop3 127.0.0.1:10110 -user "$PEER_USER" -pass password || true
  fi
  if [ -n "$POSTHORN_PID" ] && kill -0 "$POSTHORN_PID" 2>/dev/null; then
    kill "$POSTHORN_PID"; wait "$POSTHORN_PID" 2>/dev/null || true
  fi
  if [ "${KEEP_PEERS:-0}" != 1 ] && [ "$PEERS_WERE_UP" = 0 ]; then "$PEERS/down.sh" >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== building (in $WORK)"
(cd "$ROOT" && go build -o "$WORK/posthorn" ./cmd/posthorn && go build -o "$WORK/pop3bench" ./bench/pop3bench)

cat > "$WORK/posthorn.toml" <<EOF
hostname = "bench.posthorn.test"
data_dir = "$WORK/data"
[store]
driver = "sqlite"
[listen]
smtp = "127.0.0.1:$SMTP_PORT"
submission = ""
submissions = ""
imap = ""
imaps = ""
pop3 = "127.0.0.1:$POP3_PORT"
pop3s = ""
http = ""
https = ""
metrics = ""
[auth]
allow_plaintext_on_loopback = true
# No SPF/DKIM/DMARC lookups (the peers make none either, and a benchmark
# must not query real DNS); no MTA-STS lookups from the queue.
[mx]
checks = false
[queue]
mta_sts = false
[log]
level = "warn"
EOF
export POSTHORN_CONFIG="$WORK/posthorn.toml"
"$WORK/posthorn" domain add bench.test >/dev/null
echo password | "$WORK/posthorn" user add bench@bench.test >/dev/null

echo "== starting Posthorn (SMTP 127.0.0.1:$SMTP_PORT, POP3 127.0.0.1:$POP3_PORT)"
"$WORK/posthorn" serve >"$WORK/posthorn.log" 2>&1 &
POSTHORN_PID=$!
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$POP3_PORT") 2>/dev/null && break
  sleep 0.1
done

echo "== starting Postfix + Dovecot ($PEERS/up.sh)"
"$PEERS/up.sh" >"$WORK/peers-up.log" 2>&1 || { tail -20 "$WORK/peers-up.log"; exit 1; }
have="$("$WORK/pop3bench" count -pop3 127.0.0.1:10110 -user "$PEER_USER" -pass password)"
if [ "$have" != 0 ]; then
  echo "$PEER_USER has $have messages; this benchmark needs an empty INBOX (set PEER_USER)" >&2
  exit 1
fi

echo "== filling both mailboxes: $MESSAGES messages of $SIZE octets"
"$WORK/pop3bench" fill -smtp "127.0.0.1:$SMTP_PORT" -to bench@bench.test -n "$MESSAGES" -size "$SIZE"
PEER_FILLED=1
"$WORK/pop3bench" fill -smtp 127.0.0.1:10025 -to "$PEER_USER" -n "$MESSAGES" -size "$SIZE"
"$WORK/pop3bench" wait -pop3 "127.0.0.1:$POP3_PORT" -user bench@bench.test -pass password -n "$MESSAGES"
"$WORK/pop3bench" wait -pop3 127.0.0.1:10110 -user "$PEER_USER" -pass password -n "$MESSAGES"

retr() { # label addr user mode
  local flag=""; [ "$4" = pipelined ] && flag=-pipeline
  "$WORK/pop3bench" retr -label "$1" -pop3 "$2" -user "$3" -pass password $flag
}

: >"$WORK/results.jsonl"
for mode in sequential pipelined; do
  echo "== $mode: warm-up"
  retr posthorn "127.0.0.1:$POP3_PORT" bench@bench.test "$mode" >/dev/null
  retr dovecot 127.0.0.1:10110 "$PEER_USER" "$mode" >/dev/null
  for r in $(seq "$ROUNDS"); do
    echo "== $mode: round $r"
    retr posthorn "127.0.0.1:$POP3_PORT" bench@bench.test "$mode" | tee -a "$WORK/results.jsonl"
    retr dovecot 127.0.0.1:10110 "$PEER_USER" "$mode" | tee -a "$WORK/results.jsonl"
  done
done

echo "== medians ($MESSAGES messages of $SIZE octets, one connection)"
python3 - "$WORK/results.jsonl" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("| server | mode | messages | MiB on the wire | seconds | messages/s | MiB/s |")
print("|---|---|---|---|---|---|---|")
for mode in ("sequential", "pipelined"):
    for label in ("posthorn", "dovecot"):
        rs = [r for r in rows if r["label"] == label and r["mode"] == mode]
        if not rs:
            continue
        secs = statistics.median(r["seconds"] for r in rs)
        octets = rs[0]["octets"]
        print(f"| {label} | {mode} | {rs[0]['messages']} | {octets / 2**20:.1f} | {secs:.3f} | "
              f"{rs[0]['messages'] / secs:.0f} | {octets / secs / 2**20:.0f} |")
EOF
