#!/usr/bin/env bash
# `make run`: the console on its demo workspace, in the default data dir (or HANDOFF_DATA_DIR).
# Until the desktop window lands, this shows the CLI: the demo integrations, one delivered
# handoff, one failed one (the demo API is down), and the history.
set -uo pipefail
bin=$1
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
echo "== history"
"$bin" history --limit 10
echo
echo "Next: '$bin --help', '$bin history --status failed', '$bin retry --failed --dry-run', '$bin worker'."
exit 0
