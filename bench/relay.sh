#!/usr/bin/env bash
# bench/relay.sh — relay end to end (issue 4): submission -> queue -> a sink on
# loopback, for Posthorn and for Postfix relaying to the same sink, in one run.
#
#   bench/relay.sh [MESSAGES] [SESSIONS] [SIZE] [ROUNDS]
#     MESSAGES  messages per round (default 5000)
#     SESSIONS  concurrent submission sessions of bench/smtpload (default 20)
#     SIZE      octets per message (default 4096)
#     ROUNDS    timed rounds per server, alternating (default 3), after one
#               untimed warm-up of 1000 messages each; medians are reported
#   PROFILE=1   afterwards, take a 20 s CPU profile of Posthorn during an extra
#               round (Posthorn then runs in bench/relayserve: the same server
#               with net/http/pprof added; the reported figures come from the
#               posthorn binary), kept in $PROFILE_OUT (default /tmp), and run
#               two diagnostic rounds with DKIM signing limited to Ed25519 and
#               off (relayserve's POSTHORN_BENCH_DKIM; the product always signs
#               a local domain's mail with both keys)
#
# One round: bench/sinkcount listens on 127.0.0.1:$SINK_PORT and waits for
# MESSAGES distinct messages; smtpload submits them (SESSIONS connections,
# each reused for its share, MAIL/RCPT/DATA pipelined) to recipients at
# sink.test; the round's time runs from just before smtpload starts to the
# sink's arrival time of the last message. Reported: messages/s end to end
# (the figure of issue 4) and the submission rate smtpload saw.
#
# Posthorn: built from this tree, a temp config (SQLite, durability on),
# submission on 127.0.0.1 with AUTH PLAIN over plaintext (loopback), a
# [[queue.route]] for sink.test to the sink, [mx] checks and [queue] mta_sts
# off, user bench@bench.test made with the CLI; smtpload authenticates.
# Postfix: a private instance (postfix -c, its own queue under the work dir,
# Debian defaults otherwise), smtpd on 127.0.0.1 relaying for mynetworks
# 127.0.0.0/8 (no SASL: smtpload does not authenticate to it), transport
# sink.test -> smtp:[127.0.0.1]:$SINK_PORT, DNS support off. Postfix runs in a
# private mount namespace whose resolv.conf names only 127.0.53.53. Needs root.
set -euo pipefail

MESSAGES="${1:-5000}"; SESSIONS="${2:-20}"; SIZE="${3:-4096}"; ROUNDS="${4:-3}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="$(mktemp -d /tmp/posthorn-relay.XXXXXX)"
chmod 755 "$WORK"
[ "$(id -u)" = 0 ] || { echo "relay.sh: needs root (the private Postfix instance)" >&2; exit 1; }
for t in postfix unshare python3; do command -v "$t" >/dev/null || { echo "relay.sh: $t is missing" >&2; exit 1; }; done

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
SINK_PORT=$(free_port); SUB_PORT=$(free_port); PF_PORT=$(free_port); METRICS_PORT=$(free_port); PPROF_PORT=$(free_port)
POSTHORN_PID=""; SINK_PID=""; PF_ETC="$WORK/postfix/etc"

cleanup() {
  for pid in "$SINK_PID" "$POSTHORN_PID"; do
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill "$pid"; wait "$pid" 2>/dev/null || true; fi
  done
  if [ -f "$PF_ETC/main.cf" ]; then postfix -c "$PF_ETC" stop >/dev/null 2>&1 || true; fi
  sleep 1
  rm -rf "$WORK"
}
trap cleanup EXIT

wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }

echo "== building (in $WORK)"
(cd "$ROOT" && go build -o "$WORK/posthorn" ./cmd/posthorn && go build -o "$WORK/smtpload" ./bench/smtpload &&
  go build -o "$WORK/sinkcount" ./bench/sinkcount)
if [ "${PROFILE:-0}" = 1 ]; then (cd "$ROOT" && go build -o "$WORK/relayserve" ./bench/relayserve); fi

# --- Posthorn ------------------------------------------------------------------
cat > "$WORK/posthorn.toml" <<EOF
hostname = "bench.posthorn.test"
data_dir = "$WORK/data"
[store]
driver = "sqlite"
[listen]
smtp = ""
submission = "127.0.0.1:$SUB_PORT"
submissions = ""
imap = ""
imaps = ""
pop3 = ""
pop3s = ""
http = ""
https = ""
metrics = "127.0.0.1:$METRICS_PORT"
[auth]
allow_plaintext_on_loopback = true
[limits]
max_connections_per_ip = $((SESSIONS + 10))
# No SPF/DKIM/DMARC and no MTA-STS lookups: a benchmark asks no real DNS.
[mx]
checks = false
[queue]
mta_sts = false
[[queue.route]]
domain = "sink.test"
host = "127.0.0.1:$SINK_PORT"
[log]
level = "info"
EOF
export POSTHORN_CONFIG="$WORK/posthorn.toml"
"$WORK/posthorn" domain add bench.test >/dev/null
echo password | "$WORK/posthorn" user add bench@bench.test >/dev/null
start_posthorn() { # binary
  "$1" serve >>"$WORK/posthorn.log" 2>&1 &
  POSTHORN_PID=$!
  wait_port "$SUB_PORT" || { tail -20 "$WORK/posthorn.log"; exit 1; }
}
echo "== starting Posthorn: submission 127.0.0.1:$SUB_PORT, queue route sink.test -> 127.0.0.1:$SINK_PORT"
start_posthorn "$WORK/posthorn"

# --- Postfix ------------------------------------------------------------------
mkdir -p "$PF_ETC" "$WORK/postfix/spool" "$WORK/postfix/data"
chown postfix:postfix "$WORK/postfix/data"
cat > "$PF_ETC/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $WORK/postfix/spool
data_directory = $WORK/postfix/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = $WORK/postfix.log
maillog_file_prefixes = $WORK
myhostname = relay.peer.test
mydomain = peer.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
biff = no
alias_maps =
alias_database =
local_recipient_maps =
local_transport = error:5.7.1 no local delivery here
relay_transport = error:5.7.1 no relaying but to the sink
default_transport = error:5.7.1 no relaying but to the sink
transport_maps = texthash:$PF_ETC/transport
smtp_tls_security_level = none
EOF
echo "sink.test smtp:[127.0.0.1]:$SINK_PORT" > "$PF_ETC/transport"
cat > "$PF_ETC/master.cf" <<EOF
# service type  private unpriv  chroot  wakeup  maxproc command + args
127.0.0.1:$PF_PORT inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
printf 'nameserver 127.0.53.53\noptions timeout:1 attempts:1\n' > "$WORK/resolv.conf"
echo "== starting Postfix $(postconf -d -h mail_version): smtpd 127.0.0.1:$PF_PORT, transport sink.test -> 127.0.0.1:$SINK_PORT"
unshare --mount --propagation private -- sh -c 'mount --bind "$0" /etc/resolv.conf && exec "$@"' "$WORK/resolv.conf" \
  postfix -c "$PF_ETC" start </dev/null >>"$WORK/postfix-start.log" 2>&1 || { cat "$WORK/postfix-start.log"; exit 1; }
wait_port "$PF_PORT" || { tail "$WORK/postfix.log"; exit 1; }

# --- rounds -------------------------------------------------------------------
round() { # label addr n extra-smtpload-args...
  local label="$1" addr="$2" n="$3"; shift 3
  "$WORK/sinkcount" -listen "127.0.0.1:$SINK_PORT" -n "$n" -timeout 10m >"$WORK/sink.json" &
  SINK_PID=$!
  wait_port "$SINK_PORT"
  local t0; t0=$(date +%s%N)
  if ! "$WORK/smtpload" -json -label "$label" -addr "$addr" -to sink@sink.test -sessions "$SESSIONS" -messages "$n" -size "$SIZE" "$@" \
    >"$WORK/load.json"; then
    # Refused submissions never reach the sink: do not wait for them.
    echo "$label: submission failed: $(cat "$WORK/load.json")" >&2
    kill "$SINK_PID"; wait "$SINK_PID" 2>/dev/null || true; SINK_PID=""
    return 1
  fi
  wait "$SINK_PID" || { echo "$label: the sink did not get all $n messages" >&2; SINK_PID=""; return 1; }
  SINK_PID=""
  python3 - "$label" "$t0" "$WORK/load.json" "$WORK/sink.json" <<'PY'
import json, sys
label, t0 = sys.argv[1], int(sys.argv[2])
load, sink = json.load(open(sys.argv[3])), json.load(open(sys.argv[4]))
e2e = (sink["last_unix_ns"] - t0) / 1e9
print(json.dumps({"label": label, "messages": sink["messages"], "duplicates": sink["duplicates"], "connections": sink["connections"],
                  "failed": load["failed"], "e2e_s": e2e, "e2e_rate": sink["messages"] / e2e,
                  "submit_rate": load["rate"], "submit_p99_ms": load["p99_ms"]}))
PY
}
posthorn_auth=(-from bench@bench.test -auth bench@bench.test:password)
postfix_from=(-from loadgen@bench.test)

echo "== warming up both (1000 messages each, not counted)"
round warmup-postfix "127.0.0.1:$PF_PORT" 1000 "${postfix_from[@]}" >/dev/null
round warmup-posthorn "127.0.0.1:$SUB_PORT" 1000 "${posthorn_auth[@]}" >/dev/null
uptime | sed 's/^/load before the runs: /'
: >"$WORK/results.jsonl"
for r in $(seq "$ROUNDS"); do
  round postfix "127.0.0.1:$PF_PORT" "$MESSAGES" "${postfix_from[@]}" | tee -a "$WORK/results.jsonl"
  round posthorn "127.0.0.1:$SUB_PORT" "$MESSAGES" "${posthorn_auth[@]}" | tee -a "$WORK/results.jsonl"
done
uptime | sed 's/^/load after the runs: /'

echo "== summary ($MESSAGES messages of $SIZE octets per round, $SESSIONS sessions, $ROUNDS rounds)"
python3 - "$WORK/results.jsonl" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
med = {}
for label in ("postfix", "posthorn"):
    rs = [r for r in runs if r["label"] == label]
    if not rs:
        continue
    med[label] = statistics.median(r["e2e_rate"] for r in rs)
    sub = statistics.median(r["submit_rate"] for r in rs)
    bad = sum(r["failed"] + r["duplicates"] for r in rs)
    conns = statistics.median(r["connections"] for r in rs)
    print(f"{label:15s} end to end median {med[label]:7.0f} msg/s (rounds: {', '.join('%.0f' % r['e2e_rate'] for r in rs)});"
          f" submission median {sub:7.0f} msg/s; {conns:.0f} connections to the sink;"
          f" {'all delivered once' if bad == 0 else f'{bad} failed or duplicate'}")
if len(med) == 2:
    print(f"ratio posthorn/postfix (median end-to-end rates): {med['posthorn'] / med['postfix']:.2f}x")
PY

if [ "${PROFILE:-0}" = 1 ]; then
  echo "== profiling Posthorn (bench/relayserve, pprof on 127.0.0.1:$PPROF_PORT) during one more round"
  kill "$POSTHORN_PID"; wait "$POSTHORN_PID" 2>/dev/null || true
  POSTHORN_PPROF="127.0.0.1:$PPROF_PORT" start_posthorn "$WORK/relayserve"
  curl -s -o "$WORK/relay-cpu.pprof" "http://127.0.0.1:$PPROF_PORT/debug/pprof/profile?seconds=20" &
  curl_pid=$!
  round profile "127.0.0.1:$SUB_PORT" "$((MESSAGES * 3))" "${posthorn_auth[@]}" || true
  wait "$curl_pid" || true
  go tool pprof -top -nodecount=25 "$WORK/relayserve" "$WORK/relay-cpu.pprof" 2>/dev/null | head -32
  go tool pprof -top -cum -nodecount=40 "$WORK/relayserve" "$WORK/relay-cpu.pprof" 2>/dev/null | sed -n '6,47p'
  cp "$WORK/relay-cpu.pprof" "$WORK/relayserve" "${PROFILE_OUT:-/tmp}/" && echo "profile kept: ${PROFILE_OUT:-/tmp}/relay-cpu.pprof"
  # Diagnosis: what DKIM signing costs (not a product setting; see relayserve).
  for mode in ed25519 off; do
    kill "$POSTHORN_PID"; wait "$POSTHORN_PID" 2>/dev/null || true
    POSTHORN_BENCH_DKIM=$mode POSTHORN_PPROF="127.0.0.1:$PPROF_PORT" start_posthorn "$WORK/relayserve"
    round "diagnostic-dkim-$mode" "127.0.0.1:$SUB_PORT" "$MESSAGES" "${posthorn_auth[@]}" || true
  done
fi
