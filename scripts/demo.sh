#!/usr/bin/env bash
# `make run`: the console on its first-run demo workspace, in the default data dir (or
# HANDOFF_DATA_DIR): the desktop window where a display exists, otherwise `serve`, which prints
# the loopback URL to open (the token rides in its fragment, so the page opens signed in).
# Usage: scripts/demo.sh BIN   (HANDOFF_RUN=serve forces the web UI)
set -uo pipefail
bin=$1
# Handoff data is stored encrypted under a key kept in the secrets backend. Without a reachable
# OS keyring (a headless machine), the demo uses the encrypted-file vault with a demo
# passphrase; for real use, set your own (HANDOFF_VAULT_PASSPHRASE) or use the OS keyring.
if ! "$bin" secrets status >/dev/null 2>&1 && [ -z "${HANDOFF_SECRETS:-}" ]; then
  export HANDOFF_SECRETS=vault
  export HANDOFF_VAULT_PASSPHRASE=${HANDOFF_VAULT_PASSPHRASE:-handoff-demo-passphrase}
  echo "(no OS keyring reachable: the demo keeps its secrets in the encrypted-file vault, with a demo passphrase)"
fi

# The demo workspace (what is missing of it): a SQLite target with the seed's patient_data
# table, an integration mapped onto it and an API integration whose target is down.
"$bin" demo >/dev/null || exit $?
# On first run, a little history to look at: one delivered handoff and one failure.
if [ "$("$bin" history --limit 1 --json)" = "[]" ]; then
  sample='{"fullName": "Ann Lee", "email": "ann.lee@example.com", "phoneNumber": "+1 555 123 4567", "appointmentDate": "2026-12-01", "additionalNotes": "Prefers mornings"}'
  "$bin" send --integration "Demo clinic database" --session demo-session --data - <<< "$sample" >/dev/null
  "$bin" send --integration "Demo EMR API (offline)" --session demo-session --data - <<< "$sample" >/dev/null
fi

has_display() { [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; }
if [ "${HANDOFF_RUN:-}" != serve ] && has_display; then
  echo "opening the Handoff Console window (the demo workspace is labelled 'Demo'; remove it in one click on Integrations)"
  exec "$bin"
fi
echo "no display (or a build without the window): serving the web UI instead; open the URL below"
port=${HANDOFF_PORT:-7878}
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
# The console listening on $1 when it is this workspace's: this binary, serving this data dir
# (found from the listening process itself; nothing is sent to an unknown listener, least of
# all the token).
ours_on() {
  command -v ss >/dev/null 2>&1 || return 1
  local pid exe data
  pid=$(ss -ltnpH "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | head -n1 | cut -d= -f2)
  [ -n "$pid" ] && [ -r "/proc/$pid/environ" ] || return 1
  exe=$(readlink -f "/proc/$pid/exe" 2>/dev/null) || return 1
  [ "$exe" = "$(readlink -f "$bin")" ] || return 1
  data=$(tr '\0' '\n' <"/proc/$pid/environ" | sed -n 's/^HANDOFF_DATA_DIR=//p')
  [ "${data:-default}" = "${HANDOFF_DATA_DIR:-default}" ] || return 1
  ! tr '\0' '\n' <"/proc/$pid/cmdline" | grep -qx -- '--data-dir'
}
if port_taken "$port"; then
  if ours_on "$port" && token=$("$bin" token 2>/dev/null); then
    echo "this workspace's console is already serving; open:"
    echo "http://127.0.0.1:$port/#token=$token"
    exit 0
  fi
  echo "port $port is taken by another program: serving on a free port instead (the URL below has it)"
  exec "$bin" serve --bind 127.0.0.1:0
fi
exec "$bin" serve --bind "127.0.0.1:$port"
