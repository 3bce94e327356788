#!/usr/bin/env bash
# `make dev`: the whole stack on this machine, in the foreground.
# Redis and DynamoDB Local on free local ports, development keys made here (never
# committed), every function under `cargo lambda watch` at http://127.0.0.1:$PORT.
# Ctrl-C or SIGTERM stops everything this script started.
#
# A run keeps its working files (the services' directories and logs, the pids it
# started with their identities) in a directory of its own under $DEV_DIR/run/ and
# removes it when it stops; $DEV_DIR/keys.json and $DEV_DIR/env stay. DEV_DIR defaults
# to .dev (the tests of this script point it at a temporary directory).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# shellcheck source=scripts/tools-env.sh
source scripts/tools-env.sh

PORT="${PORT:-9000}"
DEV_DIR="${DEV_DIR:-$PWD/.dev}"
RUN_ROOT="$DEV_DIR/run"
RUN_DIR=""
# shellcheck source=scripts/services.sh
source scripts/services.sh

STOPPING=0
cleanup() {
  # Idempotent, and not to be cut short: `make dev` under a SIGTERM to its process group
  # gets the signal twice (directly and forwarded by make), Ctrl-C may be pressed again.
  trap '' INT TERM HUP QUIT
  set +e
  [ "$STOPPING" = 0 ] || return 0
  STOPPING=1
  if [ -n "$RUN_DIR" ]; then
    stop_services
    rm -rf "$RUN_DIR"
  fi
  rmdir "$RUN_ROOT" 2>/dev/null
  echo "make dev: stopped."
}
trap cleanup EXIT
trap 'trap "" INT TERM HUP QUIT; exit 130' INT
trap 'trap "" INT TERM HUP QUIT; exit 143' TERM
trap 'trap "" INT TERM HUP QUIT; exit 129' HUP
trap 'trap "" INT TERM HUP QUIT; exit 131' QUIT

mkdir -p "$RUN_ROOT"
# What runs killed with -9 left behind: only processes that are provably theirs.
stop_stale_runs "$RUN_ROOT"
# Named before it exists, so that a signal at any point leaves nothing cleanup misses.
RUN_DIR="$RUN_ROOT/$(date +%Y%m%d-%H%M%S)-$$-$RANDOM"
mkdir "$RUN_DIR"
services_begin

REDIS_PORT=$(free_port)
DYNAMODB_PORT=$(free_port)
SES_PORT=$(free_port)
echo "make dev: starting Redis on $REDIS_PORT, DynamoDB Local on $DYNAMODB_PORT and the local SES on $SES_PORT..."
start_redis "$REDIS_PORT"
start_dynamodb "$DYNAMODB_PORT"
start_ses "$SES_PORT"
create_table "$DYNAMODB_PORT" accounts

[ -f "$DEV_DIR/keys.json" ] || generate_keys "$DEV_DIR/keys.json"

# The demo page (web/) on its own origin, which the functions allow (with any origins
# already in ALLOWED_ORIGINS): it reaches the API cross-origin, as a real front end does.
WEB_PORT="$(port_or_free "$((PORT + 1))")"
ALLOWED_ORIGINS="http://127.0.0.1:$WEB_PORT${ALLOWED_ORIGINS:+,$ALLOWED_ORIGINS}" \
  write_function_env "$DEV_DIR/env" "$PORT" "$REDIS_PORT" "$DYNAMODB_PORT" "$DEV_DIR/keys.json" accounts
start_web "$WEB_PORT" web

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
  curl -s -X POST http://127.0.0.1:$PORT/password/forgot -H 'Content-Type: application/json' -d '{"email":"ada@example.com"}'
  curl -s -X POST http://127.0.0.1:$PORT/email/verify -H 'Authorization: Bearer <idToken>' \
       -H 'Content-Type: application/json' -d '{"code":"<code from the mail>"}'
  curl -s -X POST http://127.0.0.1:$PORT/2015-03-31/functions/admin/invocations -d '{"action":"get-user","email":"ada@example.com"}'

  Mail sent (codes): http://127.0.0.1:$SES_PORT/ (viewer), http://127.0.0.1:$SES_PORT/store (JSON)

  Demo page (sign up, sessions, the refresh token in an HttpOnly cookie):
  http://127.0.0.1:$WEB_PORT/?api=http://127.0.0.1:$PORT

  Ctrl-C stops everything.

USAGE

start_watch "$PORT" "$DEV_DIR/env"
wait "$WATCH_PID"
