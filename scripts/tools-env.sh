# shellcheck shell=bash
# Sourced by dev.sh, test.sh and the tests of the scripts (the Makefile does the same
# itself): puts the project's Python tools (.tools/venv/bin, made by install-deps.sh)
# first on PATH, so that cargo-lambda, cfn-lint, schemathesis, moto_server and python3
# (with PyJWT) come from there and never from the system.
_tools_env_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_DIR="${TOOLS_DIR:-$_tools_env_root/.tools}"
VENV_DIR="${VENV_DIR:-$TOOLS_DIR/venv}"
case "$PATH" in
  "$VENV_DIR/bin:"*) ;;
  *) PATH="$VENV_DIR/bin:$PATH" ;;
esac
export PATH
hash -r
unset _tools_env_root
