#!/usr/bin/env bash
# `make dev`: the whole stack on this machine, in the foreground.
# Redis and DynamoDB Local on free local ports, development keys made here (never
# committed), every function under `cargo lambda watch` at http://127.0.0.1:$PORT.
# Ctrl-C or SIGTERM stops everything this script started.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

PORT="${PORT:-9000}"
DEV_DIR="$PWD/.dev"
RUN_DIR="$DEV_DIR/run"
mkdir -p "$RUN_DIR"
# shellcheck source=scripts/services.sh
source scripts/services.sh
stop_services   # leftovers of a run that was killed with -9

cleanup() {
  trap - EXIT INT TERM
  stop_watch
  stop_services
  echo "make dev: stopped."
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

REDIS_PORT=$(free_port)
DYNAMODB_PORT=$(free_port)
echo "make dev: starting Redis on $REDIS_PORT and DynamoDB Local on $DYNAMODB_PORT..."
start_redis "$REDIS_PORT"
start_dynamodb "$DYNAMODB_PORT"
create_table "$DYNAMODB_PORT" accounts

[ -f "$DEV_DIR/keys.json" ] || generate_keys "$DEV_DIR/keys.json"

write_function_env "$DEV_DIR/env" "$PORT" "$REDIS_PORT" "$DYNAMODB_PORT" "$DEV_DIR/keys.json" accounts

cat <<USAGE

  The account service is starting at http://127.0.0.1:$PORT (functions compile on first start).

  curl -s -X POST http://127.0.0.1:$PORT/signup -H 'Content-Type: application/json' \\
       -d '{"email":"ada@example.com","password":"correct horse battery"}'
  curl -s -X POST http://127.0.0.1:$PORT/signin -H 'Content-Type: application/json' \\
       -d '{"email":"ada@example.com","password":"correct horse battery"}'
  curl -s -X POST http://127.0.0.1:$PORT/tokens -H 'Content-Type: application/json' -d '{"refreshToken":"<refreshToken>"}'
  curl -s -X POST http://127.0.0.1:$PORT/signout -H 'Content-Type: application/json' -d '{"refreshToken":"<refreshToken>"}'
  curl -s -X POST http://127.0.0.1:$PORT/revoke-all -H 'Authorization: Bearer <idToken>'
  curl -s http://127.0.0.1:$PORT/sessions -H 'Authorization: Bearer <idToken>'
  curl -s http://127.0.0.1:$PORT/.well-known/jwks.json
  curl -s http://127.0.0.1:$PORT/.well-known/openid-configuration
  curl -s http://127.0.0.1:$PORT/me -H 'Authorization: Bearer <idToken>'     # sample protected route

  Ctrl-C stops everything.

USAGE

start_watch "$PORT" "$DEV_DIR/env"
wait "$WATCH_PID"
