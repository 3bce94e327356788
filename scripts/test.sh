#!/usr/bin/env bash
# `make test`: a format and lint gate (rustfmt, clippy -D warnings), the scripts' own
# tests, cfn-lint of template.yaml, then every test against real services this script
# starts on free local ports (a standalone Redis, a 3-master Redis Cluster, DynamoDB
# Local) and stops again whatever the outcome.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# shellcheck source=scripts/tools-env.sh
source scripts/tools-env.sh   # the pinned Python tools of .tools/venv first on PATH

RUN_DIR="$(mktemp -d "${TMPDIR:-/tmp}/account-service-test.XXXXXX")"
# What a run leaves to look at afterwards (the browser suite's screenshots); git-ignored.
BROWSER_OUT="${TEST_OUTPUT_DIR:-$PWD/target/test-output}/browser"
# shellcheck source=scripts/services.sh
source scripts/services.sh
STOPPING=0
cleanup() {
  trap '' INT TERM HUP QUIT   # a second signal must not cut the cleanup short
  set +e
  [ "$STOPPING" = 0 ] || return 0
  STOPPING=1
  stop_services
  rm -rf "$RUN_DIR"
}
trap cleanup EXIT
trap 'trap "" INT TERM HUP QUIT; exit 130' INT
trap 'trap "" INT TERM HUP QUIT; exit 143' TERM
trap 'trap "" INT TERM HUP QUIT; exit 129' HUP
trap 'trap "" INT TERM HUP QUIT; exit 131' QUIT
services_begin

echo "make test: format and lint gate"
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "make test: the scripts' own tests (install-deps, make dev's stop)"
bash tests/scripts/install_deps.sh
bash tests/scripts/dev_stops_cleanly.sh

echo "make test: linting template.yaml"
cfn-lint template.yaml

echo "make test: starting Redis, Redis Cluster and DynamoDB Local"
REDIS_PORT=$(free_port); start_redis "$REDIS_PORT"
start_redis_cluster
DYNAMODB_PORT=$(free_port); start_dynamodb "$DYNAMODB_PORT"
start_ses "$(free_port)"

export TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
export TEST_REDIS_CLUSTER_URL="redis://127.0.0.1:${REDIS_CLUSTER_PORTS[0]}"
export TEST_REDIS_CLUSTER_NODES="redis://127.0.0.1:${REDIS_CLUSTER_PORTS[1]},redis://127.0.0.1:${REDIS_CLUSTER_PORTS[2]}"
export TEST_DYNAMODB_ENDPOINT="http://127.0.0.1:$DYNAMODB_PORT"
export TEST_SES_ENDPOINT="http://127.0.0.1:$SES_PORT"
export DYNAMODB_LOCAL_DIR; DYNAMODB_LOCAL_DIR="$(dynamodb_jar_dir)"
export TEST_RUN_DIR="$RUN_DIR"
export AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local
export AWS_EC2_METADATA_DISABLED=true

# --include-ignored: the slow tests (1,000,000 keys) are ignored by a plain
# `cargo test` but always run here.
cargo test --workspace --locked -- --include-ignored

echo "make test: schemathesis against the local stack (openapi.yaml)"
HTTP_PORT=$(free_port)
create_table "$DYNAMODB_PORT" accounts
generate_keys "$RUN_DIR/keys.json"
# The browser suite (below) serves web/ from an allowed origin and from one that is not;
# every request comes from 127.0.0.1, hence the raised per-address limits.
WEB_PORT=$(free_port); OTHER_WEB_PORT=$(free_port)
ALLOWED_ORIGINS="http://127.0.0.1:$WEB_PORT" SIGNUP_LIMIT_PER_IP=100000 SIGNIN_LIMIT_PER_IP=100000 \
  write_function_env "$RUN_DIR/function.env" "$HTTP_PORT" "$REDIS_PORT" "$DYNAMODB_PORT" "$RUN_DIR/keys.json" accounts
start_watch "$HTTP_PORT" "$RUN_DIR/function.env" --ignore-changes --quiet >"$RUN_DIR/watch.log" 2>&1
# Functions compile on their first request: up to a few minutes on a cold machine.
wait_for "the local stack" 3000 curl -sf -o /dev/null "http://127.0.0.1:$HTTP_PORT/.well-known/jwks.json"
SCHEMATHESIS_HOOKS=hooks PYTHONPATH="$PWD/tests/schemathesis" \
  schemathesis run openapi.yaml --url "http://127.0.0.1:$HTTP_PORT" --checks all \
  --max-time 90 --workers 2 --request-timeout 20 --seed 1 --no-color \
  --report junit --report-junit-path "$RUN_DIR/schemathesis.xml"
echo "make test: schemathesis passed"

echo "make test: the admin function through the Lambda invoke API, as an operator calls it"
"$VENV_DIR/bin/python" tests/admin/invoke_admin.py "http://127.0.0.1:$HTTP_PORT"

echo "make test: OIDC discovery checked by an independent client (PyJWT)"
"$VENV_DIR/bin/python" tests/oidc/check_discovery.py "http://127.0.0.1:$HTTP_PORT" account-service "$RUN_DIR/keys.json"

echo "make test: the demo page in headless Chromium (tests/browser), screenshots in $BROWSER_OUT"
start_web "$WEB_PORT" web
start_web "$OTHER_WEB_PORT" web
rm -rf "$BROWSER_OUT"
# Bounded as a whole too; the run id lets cleanup stop a browser left behind by a signal.
ACCOUNT_SERVICE_RUN="$RUN_ID" timeout --foreground 600 "$VENV_DIR/bin/python" tests/browser/browser_suite.py --api "http://127.0.0.1:$HTTP_PORT" \
  --page "http://127.0.0.1:$WEB_PORT" --other-page "http://127.0.0.1:$OTHER_WEB_PORT" \
  --out "$BROWSER_OUT" --chromium "$(command -v chromium)"
