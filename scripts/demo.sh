#!/usr/bin/env bash
# `make run`: the console on its demo workspace, in the default data dir (or HANDOFF_DATA_DIR).
# Until the desktop window lands, this shows the CLI: the demo integrations, one delivered
# handoff, one failed one (the demo API is down), a configuration test, the history, stats and health.
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
echo "== handoff-console demo: integrations"
"$bin" demo || exit $?
sample='{"fullName": "Ann Lee", "email": "ann.lee@example.com", "phoneNumber": "+1 555 123 4567", "appointmentDate": "2026-12-01", "additionalNotes": "Prefers mornings"}'
echo
echo "== send to the demo database (a SQLite file in the data dir)"
"$bin" send --integration "Demo clinic database" --session demo-session --data - <<< "$sample"
echo
echo "== send to the demo API (its target is down: a network failure, retried automatically)"
"$bin" send --integration "Demo EMR API (offline)" --session demo-session --data - <<< "$sample"
echo
echo "== test the database integration with generated data (read back, then rolled back)"
"$bin" test --integration "Demo clinic database" --generate --seed 7
echo
echo "== history"
"$bin" history --limit 10
echo
echo "== statistics"
"$bin" stats
echo
echo "== health (the demo API is down on purpose: its connect check is an error)"
"$bin" health --timeout-ms 2000
echo
echo "Next: '$bin --help', '$bin test --integration \"Demo EMR API (offline)\" --generate --preview',"
echo "      '$bin history --status failed', '$bin retry --failed --dry-run', '$bin worker', '$bin stats --json'."
exit 0
