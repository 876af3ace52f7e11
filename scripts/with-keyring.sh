#!/usr/bin/env bash
# Runs a command with a real Secret Service: inside a private D-Bus session with an unlocked
# gnome-keyring (a throwaway login keyring in a temp HOME-like dir), so tests exercise the OS
# keyring as a desktop session would. Usage: scripts/with-keyring.sh CMD [ARGS...]
set -euo pipefail
if [ -z "${_HANDOFF_IN_DBUS:-}" ]; then
  export _HANDOFF_IN_DBUS=1
  exec dbus-run-session -- "$0" "$@" 2> >(grep -v 'Failed to set fd limit' >&2)
fi
keyring_home=$(mktemp -d)
trap 'rm -rf "$keyring_home"' EXIT
export XDG_DATA_HOME="$keyring_home/data"
mkdir -p "$XDG_DATA_HOME"
# --unlock reads the new login keyring's password from stdin and prints env vars to export.
eval "$(printf 'handoff-test' | gnome-keyring-daemon --unlock --components=secrets | sed 's/^/export /')"
"$@"
