#!/usr/bin/env bash
# Installs what `make run` / `make test` need on Debian 12 when it is missing.
# Usage: scripts/deps.sh run|test|lint
set -euo pipefail
need=()
have() { command -v "$1" >/dev/null 2>&1; }

if ! have cargo; then
  echo "cargo is missing: install the Rust toolchain (rustup, stable >= 1.94) first" >&2
  exit 1
fi
have cc || need+=(gcc libc6-dev)
if [ "${1:-run}" = test ]; then
  have dbus-run-session || need+=(dbus-daemon)
  have gnome-keyring-daemon || need+=(gnome-keyring)
fi
# The desktop window (Tauri: GTK 3, WebKitGTK 4.1): `test` builds it for its smoke test under
# Xvfb, `lint` checks it; `run` when a display exists (`make desktop`).
pkg_missing() { ! dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"; }
if [ "${1:-run}" != run ] || [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  if have dpkg-query; then
    for p in libwebkit2gtk-4.1-dev libgtk-3-dev librsvg2-dev libayatana-appindicator3-dev \
      libsoup-3.0-dev libxdo-dev; do
      if pkg_missing "$p"; then need+=("$p"); fi
    done
  fi
fi
if [ "${1:-run}" = test ]; then
  # The end-to-end test drives Debian's Chromium (ui/e2e/harness.mjs launches /usr/bin/chromium;
  # a test tool's own browser download does not work here) and reads a SQLite file with python3.
  [ -x /usr/bin/chromium ] || need+=(chromium)
  have python3 || need+=(python3)
  have xvfb-run || need+=(xvfb)
  have xauth || need+=(xauth)
  have jq || need+=(jq)
  have curl || need+=(curl)
  # scripts/desktop-smoke.sh finds the window's processes (pgrep) and stops them (pkill).
  have pgrep || need+=(procps)
  # tests/intake_signatures.rs: signatures made by independent implementations (openssl's HMAC,
  # and the reference Standard Webhooks library in a venv, below). Debian's python3 makes a venv
  # only with python3-venv, which is what holds its ensurepip.
  have openssl || need+=(openssl)
  python3 -c 'import ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
fi

if [ ${#need[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

# The pinned Python packages, in a venv of their own: the reference Standard Webhooks library
# (tests/intake_signatures/requirements.txt) and a real OpenAPI validator
# (tests/openapi/requirements.txt). (Re)made only when a pinned version is not the one there.
if [ "${1:-run}" = test ]; then
  venv="${HANDOFF_PY_VENV:-$HOME/.cache/handoff-console/py}"
  here="$(dirname "$0")/.."
  requirements=("$here/tests/intake_signatures/requirements.txt" "$here/tests/openapi/requirements.txt")
  installed() {
    "$venv/bin/python" - "${requirements[@]}" >/dev/null 2>&1 <<'PY'
import importlib.metadata as m, re, sys
for path in sys.argv[1:]:
    for line in open(path):
        pin = re.match(r"([A-Za-z0-9_.-]+)==([^ \\]+)", line)
        if pin and m.version(pin[1]) != pin[2]:
            sys.exit(1)
PY
  }
  if ! installed; then
    echo "installing the pinned Python test packages into $venv" >&2
    python3 -m venv --clear "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input --require-hashes \
      --only-binary :all: "${requirements[@]/#/-r}"
    installed
  fi
fi
