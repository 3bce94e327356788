#!/usr/bin/env bash
# scripts/install-deps.sh and the project's Python tools (run by scripts/test.sh, after
# install-deps.sh has run).
#
# 1. The tools resolve from the project's virtual environment (.tools/venv), at the
#    versions pinned in scripts/python-tools.txt, once scripts/tools-env.sh is sourced.
# 2. install-deps.sh succeeds when the first python3 on PATH is "externally managed"
#    (PEP 668: its pip refuses to install outside a virtual environment), simulated by a
#    wrapper around the real python3; when `python3 -m venv` fails because python3-venv
#    is missing, it apt-get installs python3-venv (after apt-get update) and goes on
#    (a stand-in apt-get, so the system is not touched); a second run is fast and
#    installs nothing; missing rustfmt and clippy components are added with rustup.
# 3. The same with the real Debian system python3 when it is marked EXTERNALLY-MANAGED.
# Step 2 and 3 use a virtual environment in a temporary directory and only the PyJWT pin.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"
# shellcheck source=scripts/tools-env.sh
source scripts/tools-env.sh
PINS="$ROOT/scripts/python-tools.txt"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/install-deps-test.XXXXXX")"
FAILED=0
finish() {
  local rc=$?
  [ "$rc" = 0 ] || [ "$FAILED" = 1 ] || echo "install_deps: FAIL: stopped by an unexpected error (exit $rc)" >&2
  rm -rf "$TMP"
}
trap finish EXIT
passed=0
fail() { FAILED=1; echo "install_deps: FAIL: $*" >&2; exit 1; }
ok() { echo "install_deps: ok: $*"; passed=$((passed + 1)); }

# ---------------------------------------------------------------- 1. tools from the venv
for tool in cargo-lambda cfn-lint schemathesis moto_server python3; do
  where="$(command -v "$tool")" || fail "$tool is not on PATH"
  case "$where" in "$VENV_DIR/bin/"*) ;; *) fail "$tool resolves to $where, not into $VENV_DIR" ;; esac
done
# Every pin that is not optional is installed at its version (extras dropped for the name).
"$VENV_DIR/bin/python" - "$PINS" <<'PY' || fail "the venv does not hold the pinned versions"
import re, sys
from importlib.metadata import version, PackageNotFoundError
bad = []
for line in open(sys.argv[1]):
    if re.search(r"#\s*if\s+\w+=1", line):
        continue
    req = line.split("#", 1)[0].strip()
    if not req:
        continue
    name, want = req.split("==")
    name = name.split("[")[0]
    try:
        have = version(name)
    except PackageNotFoundError:
        have = None
    if have != want:
        bad.append(f"{name}: want {want}, have {have}")
if bad:
    print("\n".join(bad), file=sys.stderr)
    sys.exit(1)
PY
"$VENV_DIR/bin/python" -c 'import jwt, cryptography' || fail "PyJWT with cryptography is not importable from the venv"
ok "cargo-lambda, cfn-lint, schemathesis, moto_server and python3 (PyJWT) come from $VENV_DIR at the pinned versions"

# The PATH without the project's venv: what a developer's shell has.
SYSTEM_PATH="$(printf '%s' "$PATH" | tr ':' '\n' | grep -vxF "$VENV_DIR/bin" | paste -sd: -)"
REAL_PYTHON="$(PATH="$SYSTEM_PATH" command -v python3)" || fail "no python3 outside the venv"
grep -E '^pyjwt' "$PINS" > "$TMP/pins.txt"
[ -s "$TMP/pins.txt" ] || fail "no pyjwt pin in $PINS"

run_install_deps() { # fake bin dir, venv dir, output file
  PATH="$1:$SYSTEM_PATH" VENV_DIR="$2" PYTHON_TOOLS="$TMP/pins.txt" \
    bash "$ROOT/scripts/install-deps.sh" >"$3" 2>&1
}
check_venv() { # venv dir, what made it
  "$1/bin/python" -c 'import jwt, cryptography' 2>/dev/null || fail "PyJWT is not importable from the venv $2 made"
  "$1/bin/python" -c 'import sys; sys.exit(sys.prefix == sys.base_prefix)' || fail "$1 is not a virtual environment"
}

# ---------------------------------------------------------------- 2. simulated PEP 668
FAKE="$TMP/fake-bin"; mkdir -p "$FAKE"
cat > "$FAKE/python3" <<SH
#!/bin/sh
# python3 as an "externally managed" system Python (PEP 668) without python3-venv.
echo "python3 \$*" >> "$TMP/calls.log"
if [ "\$1" = -m ] && { [ "\$2" = pip ] || [ "\$2" = ensurepip ]; }; then
  for arg in "\$@"; do
    if [ "\$arg" = install ]; then
      echo "error: externally-managed-environment" >&2
      echo "This environment is externally managed (simulated PEP 668)." >&2
      exit 1
    fi
  done
fi
if [ "\$1" = -m ] && [ "\$2" = venv ] && [ ! -f "$TMP/python3-venv-installed" ]; then
  echo "The virtual environment was not created successfully because ensurepip is not" >&2
  echo "available. On Debian/Ubuntu systems, you need to install the python3-venv package." >&2
  exit 1
fi
exec "$REAL_PYTHON" "\$@"
SH
for pip in pip pip3; do
  printf '#!/bin/sh\necho "%s $*" >> "%s/calls.log"\necho "error: externally-managed-environment" >&2\nexit 1\n' "$pip" "$TMP" > "$FAKE/$pip"
done
# A stand-in apt-get and apt-cache (the system is not touched), rustup, and a cargo whose
# rustfmt and clippy are missing.
cat > "$FAKE/apt-get" <<SH
#!/bin/sh
echo "apt-get \$*" >> "$TMP/calls.log"
case " \$* " in *" install "*python3-venv*) touch "$TMP/python3-venv-installed" ;; esac
exit 0
SH
printf '#!/bin/sh\necho "apt-cache $*" >> "%s/calls.log"\nexit 1\n' "$TMP" > "$FAKE/apt-cache"
printf '#!/bin/sh\necho "rustup $*" >> "%s/calls.log"\nexit 0\n' "$TMP" > "$FAKE/rustup"
REAL_CARGO="$(command -v cargo)"
printf '#!/bin/sh\ncase "$1" in fmt|clippy) exit 1 ;; esac\nexec "%s" "$@"\n' "$REAL_CARGO" > "$FAKE/cargo"
chmod +x "$FAKE"/*
if PATH="$FAKE:$SYSTEM_PATH" python3 -m pip install --dry-run pyjwt >/dev/null 2>&1; then
  fail "the simulated externally managed python3 let pip install"
fi
: > "$TMP/calls.log"

run_install_deps "$FAKE" "$TMP/venv-sim" "$TMP/out1" || { cat "$TMP/out1" >&2; fail "install-deps failed with an externally managed python3 first on PATH"; }
check_venv "$TMP/venv-sim" "install-deps"
grep -q '^python3 -m venv ' "$TMP/calls.log" || fail "the venv was not made by the first python3 on PATH"
grep -q '^apt-get update' "$TMP/calls.log" || fail "no apt-get update before installing python3-venv"
grep -q '^apt-get install .*python3-venv' "$TMP/calls.log" || fail "python3-venv was not apt-get installed when venv failed"
[ "$(grep -n '^apt-get update' "$TMP/calls.log" | head -n1 | cut -d: -f1)" -lt \
  "$(grep -n '^apt-get install' "$TMP/calls.log" | head -n1 | cut -d: -f1)" ] || fail "apt-get install ran before apt-get update"
grep -q '^rustup component add rustfmt clippy' "$TMP/calls.log" || fail "missing rustfmt and clippy were not added"
if grep -qE '^(python3 -m pip install|pip3? )' "$TMP/calls.log"; then fail "pip ran outside the venv: $(cat "$TMP/calls.log")"; fi
ok "install-deps with an externally managed python3 without python3-venv: apt-get installs python3-venv, the tools go into the venv"

start=$(date +%s)
run_install_deps "$FAKE" "$TMP/venv-sim" "$TMP/out2" || { cat "$TMP/out2" >&2; fail "the second run failed"; }
took=$(( $(date +%s) - start ))
if grep -qE 'pip install|-m venv' "$TMP/out2"; then fail "the second run installed again: $(cat "$TMP/out2")"; fi
[ "$took" -le 20 ] || fail "the second run took ${took} s"
ok "a second run installs nothing (${took} s)"

# ---------------------------------------------------------------- 3. Debian's own python3
SYSTEM_PY=/usr/bin/python3
if [ -x "$SYSTEM_PY" ] && "$SYSTEM_PY" -c 'import os, sys, sysconfig; sys.exit(not os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")))' 2>/dev/null; then
  REAL="$TMP/real-bin"; mkdir -p "$REAL"
  ln -s "$SYSTEM_PY" "$REAL/python3"
  if PATH="$REAL:$SYSTEM_PATH" python3 -m pip install --dry-run pyjwt >/dev/null 2>&1; then
    fail "$SYSTEM_PY is marked EXTERNALLY-MANAGED but its pip installs"
  fi
  if "$SYSTEM_PY" -m venv --help >/dev/null 2>&1 && "$SYSTEM_PY" -c 'import ensurepip' 2>/dev/null; then
    run_install_deps "$REAL" "$TMP/venv-debian" "$TMP/out3" || { cat "$TMP/out3" >&2; fail "install-deps failed with $SYSTEM_PY first on PATH"; }
    check_venv "$TMP/venv-debian" "$SYSTEM_PY"
    base_of() { "$1" -c 'import sys; print(sys.base_prefix)'; }
    [ "$(base_of "$TMP/venv-debian/bin/python")" = "$(base_of "$SYSTEM_PY")" ] ||
      fail "the venv was not made by $SYSTEM_PY: $(cat "$TMP/venv-debian/pyvenv.cfg")"
    ok "install-deps with Debian's externally managed $SYSTEM_PY first on PATH"
  else
    echo "install_deps: skipped: $SYSTEM_PY has no venv/ensurepip here (the simulated run covers that path)"
  fi
else
  echo "install_deps: skipped: no EXTERNALLY-MANAGED /usr/bin/python3 on this machine (the simulated run covers it)"
fi
echo "install_deps: $passed passed, 0 failed"
