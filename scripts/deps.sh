#!/usr/bin/env bash
# Installs what `make run` / `make test` need on Debian 12 when it is missing.
# Usage: scripts/deps.sh run|test
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

if [ ${#need[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
