#!/usr/bin/env bash
# `make dev` stops cleanly whatever signals arrive, signals only what it started, and
# leaves nothing behind (run by scripts/test.sh).
#
# 1. The stop path given what a killed run left behind: a pids file naming a live
#    process it did not start (a recorded pid whose identity no longer matches, and a
#    bare pid of the old layout) must not get that process signalled, while a process
#    that does carry the stale run's id is stopped.
# 2. `make dev` in a process group of its own, with DEV_DIR in a temporary directory
#    (never the developer's .dev) and a free PORT: once its services run and
#    `cargo lambda watch` accepts connections, and one request has made it spawn a
#    function instance (stopped while it compiles; the request is not waited for),
#    SIGTERM five times in a row to the group, and five more 0.2 s apart during its
#    cleanup; then, within a bounded time, no process of the group, nothing it started
#    and nothing carrying its run id is alive, its ports are free, its run directory is
#    gone and keys.json and env are kept. Its start-up has stopped the stale run planted
#    as in 1, under the same rules.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"
# shellcheck source=scripts/tools-env.sh
source scripts/tools-env.sh
TMP="$(mktemp -d "${TMPDIR:-/tmp}/dev-stops-cleanly.XXXXXX")"
DEV_DIR="$TMP/dev"
RUN_DIR="$TMP/unused"   # services.sh wants one; this test's runs have their own
# shellcheck source=scripts/services.sh
source scripts/services.sh

fail() { FAILED=1; echo "dev_stops_cleanly: FAIL: $*" >&2; [ -f "$TMP/dev.log" ] && sed 's/^/  dev.log: /' "$TMP/dev.log" >&2; exit 1; }
say() { echo "dev_stops_cleanly: $*"; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port_free() { # nobody listens on it (SO_REUSEADDR: connections in TIME_WAIT do not count)
  python3 - "$1" <<'PY'
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
PY
}
descendants() { # pid: "pid identity comm" of every live process below it
  local p list=" $1 " changed=1 stat rest fields
  while [ "$changed" = 1 ]; do
    changed=0
    for p in /proc/[0-9]*; do
      p="${p#/proc/}"
      case "$list" in *" $p "*) continue ;; esac
      read -r stat 2>/dev/null < "/proc/$p/stat" || continue
      rest="${stat##*) }"; read -r -a fields <<< "$rest"
      case "$list" in *" ${fields[1]} "*) list="$list$p "; changed=1 ;; esac
    done
  done
  for p in $list; do
    [ "$p" != "$1" ] || continue
    local ident; ident="$(proc_identity "$p")" || continue
    echo "$p $ident $(cat "/proc/$p/comm" 2>/dev/null)"
  done
}
group_members() { # pgid: live (not zombie) processes of that group
  local p stat rest fields
  for p in /proc/[0-9]*; do
    read -r stat 2>/dev/null < "$p/stat" || continue
    rest="${stat##*) }"; read -r -a fields <<< "$rest"
    [ "${fields[2]}" = "$1" ] && [ "${fields[0]}" != Z ] && echo "${p#/proc/}"
  done
  return 0
}

# What this test started, stopped by pid and identity whatever happens.
STARTED=()       # "pid identity"
SNAPSHOT=()      # "pid identity comm" of what make dev started
GROUP=""         # the make dev process group (its leader's pid)
GROUP_ID=""
DEV_RUN_ID=""
FAILED=0
finish() {
  local rc=$?
  trap '' INT TERM
  set +e
  [ "$rc" = 0 ] || [ "$FAILED" = 1 ] || echo "dev_stops_cleanly: FAIL: stopped by an unexpected error (exit $rc)" >&2
  local entry pid ident dir owner owner_ident
  # A make dev still running (this test failed): its own stop first, bounded.
  if [ -n "$GROUP" ] && [ -n "$(group_members "$GROUP")" ]; then
    if is_process "$GROUP" "$GROUP_ID"; then
      kill -TERM -- "-$GROUP" 2>/dev/null
    else
      for dir in "$DEV_DIR"/run/*/; do
        read -r owner owner_ident 2>/dev/null < "$dir/owner" && is_process "$owner" "$owner_ident" && kill -TERM "$owner"
      done
    fi
    for _ in $(seq 300); do [ -z "$(group_members "$GROUP")" ] && break; sleep 0.1; done
  fi
  # Then whatever its runs recorded or marked, and what this test started.
  for dir in "$DEV_DIR"/run/*/; do [ -d "$dir" ] && (stop_run "${dir%/}") >/dev/null 2>&1; done
  for entry in "${STARTED[@]}" "${SNAPSHOT[@]}"; do
    read -r pid ident _ <<< "$entry"
    is_process "$pid" "$ident" && kill -KILL "$pid" 2>/dev/null
  done
  for pid in $(marked_pids "$DEV_RUN_ID") $(marked_pids run-stale-test); do kill -KILL "$pid" 2>/dev/null; done
  rm -rf "$TMP"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start_sleep() { # [env assignment]: a sleep 300 of this test's, in SLEEP_PID and SLEEP_ID
  env ${1:+"$1"} sleep 300 >/dev/null 2>&1 &
  SLEEP_PID=$!
  disown "$SLEEP_PID"   # no job report when it is killed
  SLEEP_ID="$(proc_identity "$SLEEP_PID")" || fail "sleep did not start"
  STARTED+=("$SLEEP_PID $SLEEP_ID")
}
start_legacy() { # name, dir: a sleep 300 named like a service of the old layout, working in dir
  mkdir -p "$TMP/bin" "$2"; ln -sf "$(command -v sleep)" "$TMP/bin/$1"
  (cd "$2" && exec "$TMP/bin/$1" 300) >/dev/null 2>&1 &
  SLEEP_PID=$!
  disown "$SLEEP_PID"
  SLEEP_ID="$(proc_identity "$SLEEP_PID")" || fail "$1 did not start"
  STARTED+=("$SLEEP_PID $SLEEP_ID")
  for _ in $(seq 50); do [ "$(cat "/proc/$SLEEP_PID/comm" 2>/dev/null)" = "$1" ] && break; sleep 0.1; done
  LEGACY+=("$SLEEP_PID $SLEEP_ID")
}
alive() { # pid identity
  is_process "$1" "$2"
}

# ---------------------------------------------------------------- 1. stale pids
start_sleep; FOREIGN="$SLEEP_PID"; FOREIGN_ID="$SLEEP_ID"
start_sleep ACCOUNT_SERVICE_RUN=run-stale-test; STALE_OURS="$SLEEP_PID"; STALE_OURS_ID="$SLEEP_ID"
plant_stale_run() {
  local stale="$DEV_DIR/run/stale-run"
  mkdir -p "$stale/redis-1234"
  echo run-stale-test > "$stale/run-id"
  # Its owner's pid is alive but is another process now (another start time): the run is dead.
  echo "$FOREIGN $BOOT_ID:1" > "$stale/owner"
  # pids recorded when they belonged to processes of that run: the same numbers now
  # belong to this test's sleep (another start time, or another boot).
  printf '%s\n' "proc $FOREIGN $BOOT_ID:1" "group $FOREIGN $BOOT_ID:1" \
    "proc $FOREIGN other-boot:${FOREIGN_ID#*:}" "proc $FOREIGN gone" > "$stale/pids"
  # The layout before runs had directories: bare pids, no identity. Signalled only when
  # the pid is a java working in that directory or a redis-server in its redis-<port>.
  LEGACY=()
  start_legacy java "$DEV_DIR/run"
  start_legacy redis-server "$DEV_DIR/run/redis-4321"
  start_legacy redis-server "$DEV_DIR/run/stale-run/redis-1234"   # where today's layout runs: not legacy
  LEGACY_SPARED="${LEGACY[2]}"; unset 'LEGACY[2]'
  { echo "$FOREIGN"; for e in "${LEGACY[@]}" "$LEGACY_SPARED"; do echo "${e%% *}"; done; } > "$DEV_DIR/run/pids"
  : > "$DEV_DIR/run/dynamodb-4322.log"
}
check_legacy() { # what: the legacy services stopped, the others spared
  local e
  for e in "${LEGACY[@]}"; do
    is_process "${e%% *}" "${e#* }" && fail "$1 left a service of the old layout alive (${e%% *})"
  done
  is_process "${LEGACY_SPARED%% *}" "${LEGACY_SPARED#* }" || fail "$1 signalled a process the old layout's pids file names but did not start"
  kill -KILL "${LEGACY_SPARED%% *}" 2>/dev/null || true
}

say "the stop path, on a stale run that names a process it did not start"
plant_stale_run
(RUN_DIR="$DEV_DIR/run/stale-run"; stop_services) >"$TMP/stop.log" 2>&1 || fail "stop_services failed: $(cat "$TMP/stop.log")"
alive "$FOREIGN" "$FOREIGN_ID" || fail "stop_services signalled a process its run did not start (pid $FOREIGN)"
alive "$STALE_OURS" "$STALE_OURS_ID" && fail "stop_services left a process carrying the run's id alive"
[ ! -f "$DEV_DIR/run/stale-run/pids" ] || fail "stop_services kept the pids file"
start_sleep ACCOUNT_SERVICE_RUN=run-stale-test; STALE_OURS="$SLEEP_PID"; STALE_OURS_ID="$SLEEP_ID"
for e in "${LEGACY[@]}" "$LEGACY_SPARED"; do is_process "${e%% *}" "${e#* }" && kill -KILL "${e%% *}" || true; done
rm -rf "$DEV_DIR"; plant_stale_run
(stop_stale_runs "$DEV_DIR/run") >"$TMP/stop.log" 2>&1 || fail "stop_stale_runs failed: $(cat "$TMP/stop.log")"
alive "$FOREIGN" "$FOREIGN_ID" || fail "stop_stale_runs signalled a process no run started (pid $FOREIGN)"
check_legacy stop_stale_runs
alive "$STALE_OURS" "$STALE_OURS_ID" && fail "stop_stale_runs left a process carrying a stale run's id alive"
[ -z "$(ls -A "$DEV_DIR/run")" ] || fail "stop_stale_runs left files: $(ls -A "$DEV_DIR/run")"
say "ok: the stale pids were not signalled; what the stale run's id marks and the old layout's own services were stopped; the files are gone"

# ---------------------------------------------------------------- 2. make dev, SIGTERM x5
rm -rf "$DEV_DIR"; plant_stale_run   # the next run's start-up cleans it up too
start_sleep ACCOUNT_SERVICE_RUN=run-stale-test; STALE_OURS="$SLEEP_PID"; STALE_OURS_ID="$SLEEP_ID"
PORT="$(free_port)"
say "make dev with PORT=$PORT DEV_DIR=$DEV_DIR"
set -m   # its own process group, whose id is its pid
DEV_DIR="$DEV_DIR" PORT="$PORT" make -s -C "$ROOT" dev </dev/null >"$TMP/dev.log" 2>&1 &
GROUP=$!
set +m
GROUP_ID="$(proc_identity "$GROUP")" || fail "make dev did not start"
STARTED+=("$GROUP $GROUP_ID")

# Up to 180 s: a cold DynamoDB Local and `cargo lambda watch` on a loaded 2-core machine.
for _ in $(seq 1800); do
  port_open "$PORT" && break
  alive "$GROUP" "$GROUP_ID" || fail "make dev exited before listening on $PORT"
  sleep 0.1
done
port_open "$PORT" || fail "cargo lambda watch did not listen on $PORT within 180 s"
RUN_DIRS=("$DEV_DIR"/run/*/)
[ "${#RUN_DIRS[@]}" = 1 ] && [ -f "${RUN_DIRS[0]}run-id" ] || fail "expected one run directory: $(ls -A "$DEV_DIR/run")"
DEV_RUN_ID="$(cat "${RUN_DIRS[0]}run-id")"
read -r REDIS_PORT DYNAMODB_PORT SES_PORT < <(sed -n 's/.*starting Redis on \([0-9]*\), DynamoDB Local on \([0-9]*\) and the local SES on \([0-9]*\).*/\1 \2 \3/p' "$TMP/dev.log") || true
[ -n "${REDIS_PORT:-}" ] && [ -n "${DYNAMODB_PORT:-}" ] && [ -n "${SES_PORT:-}" ] || fail "make dev did not say its ports"
# One request, so that `cargo lambda watch` spawns a function instance (`cargo run`, in a
# process group of its own): the processes that used to be left behind. It is stopped
# while it compiles; the request is not waited for.
curl -s -m 2 -o /dev/null "http://127.0.0.1:$PORT/.well-known/jwks.json" || true
WATCH_PID="$(awk '$1 == "group" { print $2 }' "${RUN_DIRS[0]}pids")"
instance=""
for _ in $(seq 100); do
  instance="$(descendants "$WATCH_PID")"; instance="${instance%%$'\n'*}"
  [ -z "$instance" ] || break
  sleep 0.1
done
if [ -n "$instance" ]; then
  read -r pid _ comm <<< "$instance"
  say "a function instance runs ($comm, pid $pid, process group $(cut -d' ' -f5 "/proc/$pid/stat" 2>/dev/null))"
else
  say "note: no function instance seen within 10 s; checking without one"
fi
mapfile -t SNAPSHOT < <(descendants "$GROUP")
comms=" $(for e in "${SNAPSHOT[@]}"; do read -r _ _ c <<< "$e"; echo -n "$c "; done)"
for want in redis-server java cargo-lambda; do
  case "$comms" in *" $want "*) ;; *) fail "no $want among what make dev started:$comms" ;; esac
done
alive "$FOREIGN" "$FOREIGN_ID" || fail "make dev's start-up signalled a process it did not start (pid $FOREIGN)"
check_legacy "make dev's start-up"
alive "$STALE_OURS" "$STALE_OURS_ID" && fail "make dev's start-up left a process of a stale run alive"
[ ! -e "$DEV_DIR/run/stale-run" ] && [ ! -e "$DEV_DIR/run/pids" ] && [ ! -e "$DEV_DIR/run/redis-4321" ] ||
  fail "make dev's start-up left a stale run's files: $(ls -A "$DEV_DIR/run")"
say "listening on $PORT (Redis $REDIS_PORT, DynamoDB Local $DYNAMODB_PORT, SES $SES_PORT; started:$comms); SIGTERM x5 to its group, then x5 during its cleanup"

for _ in 1 2 3 4 5; do kill -TERM -- "-$GROUP" 2>/dev/null || true; done
# And five more while it cleans up: none of them may cut the cleanup short.
for _ in 1 2 3 4 5; do
  sleep 0.2
  [ -n "$(group_members "$GROUP")" ] && kill -TERM -- "-$GROUP" 2>/dev/null || true
done

# Up to 60 s for everything to be gone.
leftovers() {
  local e pid ident comm
  for pid in $(group_members "$GROUP"); do echo "group:$pid"; done
  for e in "${SNAPSHOT[@]}"; do
    read -r pid ident comm <<< "$e"
    if is_process "$pid" "$ident"; then echo "$comm:$pid"; fi
  done
  for pid in $(marked_pids "$DEV_RUN_ID"); do echo "marked:$pid"; done
  for port in "$PORT" "$REDIS_PORT" "$DYNAMODB_PORT" "$SES_PORT"; do port_free "$port" || echo "port:$port"; done
}
left=""
for _ in $(seq 600); do
  left="$(leftovers)"
  [ -n "$left" ] || break
  sleep 0.1
done
[ -z "$left" ] || fail "left behind after SIGTERM x5: ${left//$'\n'/ }"
grep -q "make dev: stopped." "$TMP/dev.log" || fail "make dev's cleanup did not finish"
! grep -q "could not stop" "$TMP/dev.log" || fail "make dev could not stop something"
[ ! -e "$DEV_DIR/run" ] || fail "the run left files under $DEV_DIR/run: $(ls -AR "$DEV_DIR/run")"
[ -f "$DEV_DIR/keys.json" ] && [ -f "$DEV_DIR/env" ] || fail "keys.json or env was not kept"
alive "$FOREIGN" "$FOREIGN_ID" || fail "make dev signalled a process it did not start (pid $FOREIGN)"
say "ok: nothing left (group, redis-server, java, cargo-lambda, run id, ports), run directory removed, keys kept"
echo "dev_stops_cleanly: 3 passed, 0 failed"
