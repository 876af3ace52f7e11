#!/usr/bin/env bash
# The desktop smoke test: the real Tauri window opens under Xvfb on a fresh workspace, the
# embedded UI loads, and commands round-trip through Tauri's IPC (docs/desktop.md). The app
# reports what its page saw through a hook that exists only under HANDOFF_DESKTOP_SMOKE, then
# quits by itself; this script checks the report and the exit code. Then, with no hook, the
# window's background work: its worker retries a failing handoff, its watcher announces the
# failure, and SIGTERM closes it in order. Last, on a store that cannot open, the window closes
# and says why. The report, logs and a screenshot (when ImageMagick
# is installed) stay in $CARGO_TARGET_DIR/desktop-smoke/ (CI artifacts).
# Usage: scripts/desktop-smoke.sh [path/to/handoff-console]   (a build with the `desktop` feature)
set -euo pipefail
target=${CARGO_TARGET_DIR:-$(cd "$(dirname "$0")/.." && pwd)/target}
bin=${1:-$target/debug/handoff-console}
artifacts=$target/desktop-smoke
mkdir -p "$artifacts"
rm -f "$artifacts/web-process-jit-off"
[ -x "$bin" ] || { echo "desktop smoke: no binary at $bin (cargo build first)" >&2; exit 1; }
command -v xvfb-run >/dev/null || { echo "desktop smoke: xvfb-run is missing (scripts/deps.sh test)" >&2; exit 1; }
for tool in jq curl; do
  command -v "$tool" >/dev/null || { echo "desktop smoke: $tool is missing (scripts/deps.sh test)" >&2; exit 1; }
done

work=$(mktemp -d)
# On every way out (a failed check, an error, a signal), whatever this run started goes too:
# the windows it opened all name the temporary workspace in their arguments.
cleanup() { pkill -KILL -f -- "$work" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
report=$work/report.json
# Everything the window writes stays in the temporary workspace: store, vault, log, window
# state, WebKit caches.
export HANDOFF_VAULT_PASSPHRASE=desktop-smoke-passphrase
export HANDOFF_LOG_DIR=$work/logs XDG_CONFIG_HOME=$work/config XDG_DATA_HOME=$work/share \
  XDG_CACHE_HOME=$work/cache
# WebKit's GPU paths only slow a virtual framebuffer down.
export WEBKIT_DISABLE_COMPOSITING_MODE=1 LIBGL_ALWAYS_SOFTWARE=1

# A size remembered from an earlier run (tauri-plugin-window-state), on a larger screen: the
# window takes its height and is fitted to this 1024x768 screen's width (desktop::fit_to_work_area).
mkdir -p "$work/config/app.handoffconsole.desktop"
cat >"$work/config/app.handoffconsole.desktop/.window-state.json" <<'JSON'
{"main": {"width": 1100, "height": 700, "x": 10, "y": 10, "prev_x": 10, "prev_y": 10,
  "maximized": false, "visible": true, "decorated": true, "fullscreen": false}}
JSON

# Inside Xvfb: start the app, take a screenshot once it has reported (it stays on screen
# for a moment), then wait for it to quit by itself.
inner='
  HANDOFF_DESKTOP_SMOKE="$1" "$2" --data-dir "$3/data" --secrets vault &
  pid=$!
  for _ in $(seq 1 600); do
    [ -e "$1" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -e "$1" ]; then
    # The web process inherits the switch that turns JavaScriptCore'"'"'s JIT off.
    for c in $(pgrep -P "$pid"); do
      if [ "$(cat "/proc/$c/comm" 2>/dev/null)" = WebKitWebProces ] \
        && tr "\0" "\n" <"/proc/$c/environ" | grep -qx "JSC_useJIT=0"; then
        : >"$4/web-process-jit-off"
      fi
    done
    if command -v import >/dev/null; then import -window root "$4/window.png" 2>/dev/null || true
    elif command -v convert >/dev/null; then convert x:root "$4/window.png" 2>/dev/null || true
    fi
  fi
  wait "$pid"
'
status=0
timeout 120 xvfb-run -a -s "-screen 0 1024x768x24" \
  bash -c "$inner" smoke "$report" "$bin" "$work" "$artifacts" >"$artifacts/output.log" 2>&1 \
  || status=$?
cp -f "$work"/logs/desktop.log "$artifacts/desktop.log" 2>/dev/null || true

fail() {
  echo "desktop smoke: FAILED: $*" >&2
  echo "--- app output ($artifacts/output.log) ---" >&2
  tail -n 40 "$artifacts/output.log" >&2 || true
  exit 1
}
[ -s "$report" ] || fail "no report from the window (exit status $status)"
cp "$report" "$artifacts/report.json"
[ "$status" -eq 0 ] || fail "the app exited with status $status after reporting"
[ -e "$artifacts/web-process-jit-off" ] \
  || fail "the window's web process was not started with JSC_useJIT=0 (desktop::interpret_javascript)"

check() { # check <jq filter that must be true> <what it means>
  jq -e "$1" "$report" >/dev/null || fail "$2 ($(jq -c "$3" "$report" 2>/dev/null))"
}
check '.ui.errors == []' 'the probe had errors' '.ui.errors'
check '.ui.title == "Handoff Console"' 'the UI did not load (title)' '.ui.title'
check '.ui.nav | length >= 3' 'the UI did not render its navigation' '.ui.nav'
check '.ui.location | startswith("tauri://") or startswith("http://tauri.localhost")' \
  'the page is not the embedded UI' '.ui.location'
jq -e --arg dir "$work/data" '.ui.info.ok.dataDir == $dir' "$report" >/dev/null \
  || fail "info answered another data dir ($(jq -c .ui.info "$report"))"
check '.ui.evalRan == false and .ui.inlineScriptRan == false' 'the CSP let eval or an inline script run' '[.ui.evalRan, .ui.inlineScriptRan]'
check '.ui.viewport == {"width": 1024, "height": 700}' \
  'the remembered window size (1100x700) was not restored, or not fitted to the 1024-px screen' '.ui.viewport'
grep -q "fits the screen's work area (1024x768): 1024x700, moved to 0,10" "$work/logs/desktop.log" \
  || fail "the log does not say the window was fitted to the screen and moved into it"

check '.ui.integrations.ok == []' 'integrations did not answer [] on a new workspace' '.ui.integrations'
check '.ui.badInput.error.kind == "invalid" and .ui.badInput.error.field == "id"' \
  'bad input did not come back as the console error object' '.ui.badInput'
check '.ui.badQuery.error.kind == "invalid"' 'an unknown query field was not refused' '.ui.badQuery'
check '.ui.denied.error != null and .ui.denied.ok == null' \
  'a command the window was not granted was allowed' '.ui.denied'
check '.ui.bodyTextAfterCalls | test("No integrations yet")' \
  'the UI did not show its first-run screen from its own calls' '.ui.bodyTextAfterCalls[0:300]'
check '.ui.bodyTextAfterCalls | test("did not answer|Something went wrong|Not available|sign in"; "i") | not' \
  'the UI showed an error state or asked for a token (its calls failed)' '.ui.bodyTextAfterCalls[0:300]'
check '.ui.demo.ok | length == 2' 'create_demo did not answer the demo integrations' '.ui.demo'

# The window's answers are the HTTP API's: `serve` on the same workspace, the same read.
"$bin" --data-dir "$work/data" --secrets vault serve --bind 127.0.0.1:0 --no-worker \
  >"$work/serve.out" 2>&1 &
serve_pid=$!
for _ in $(seq 1 200); do grep -q "#token=" "$work/serve.out" && break; sleep 0.05; done
url=$(grep -o 'http://[^ ]*#token=[A-Za-z0-9_-]*' "$work/serve.out" | head -n1)
[ -n "$url" ] || { kill "$serve_pid"; fail "serve did not start: $(cat "$work/serve.out")"; }
curl -sf -H "Authorization: Bearer ${url##*#token=}" "${url%%/#*}/api/v1/integrations" \
  >"$work/http-integrations.json" || { kill "$serve_pid"; fail "GET /api/v1/integrations failed"; }
kill "$serve_pid"; wait "$serve_pid" 2>/dev/null || true
jq -e --slurpfile http "$work/http-integrations.json" '.ui.integrationsAfterDemo.ok == $http[0]' \
  "$report" >/dev/null || fail "the integrations command differs from GET /api/v1/integrations"

[ -s "$work/logs/desktop.log" ] || fail "no log file in HANDOFF_LOG_DIR"
if grep -qi "$HANDOFF_VAULT_PASSPHRASE" "$work/logs/desktop.log" "$artifacts/output.log"; then
  fail "the vault passphrase appears in the logs"
fi

# --- 2. While open, the window retries due handoffs and announces those that failed for good;
# SIGTERM closes it in order. A handoff to a closed port, 2 tries in all, sent by the CLI to the
# window's workspace: the window's worker makes the second try, its watcher announces the
# failure (no notification daemon is needed: the log says so).
cat >"$work/down.json" <<'JSON'
{"name": "Down API", "kind": "api",
 "fields": [{"name": "fullName", "type": "text"}],
 "api": {"endpoint": "http://127.0.0.1:9/handoff", "method": "POST", "payloadStructure": {"n": "{{fullName}}"}},
 "retry": {"maxAttempts": 2, "baseDelayMs": 100, "maxDelayMs": 200}}
JSON
log2=$work/logs2/desktop.log
inner2='
  bin=$1 work=$2 log=$3
  until_log() { for _ in $(seq 1 300); do grep -q "$1" "$log" 2>/dev/null && return 0; sleep 0.1; done; return 1; }
  "$bin" --data-dir "$work/data2" --secrets vault integration add --file "$work/down.json" >/dev/null || exit 10
  "$bin" --data-dir "$work/data2" --secrets vault &
  pid=$!
  until_log "window open" || exit 11
  echo "{\"fullName\": \"Ann\"}" | "$bin" --data-dir "$work/data2" --secrets vault send \
    --integration "Down API" --session smoke --data - >/dev/null
  until_log "notifying a handoff failed for good" || { kill "$pid"; exit 12; }
  kill -TERM "$pid"
  wait "$pid"
'
status=0
HANDOFF_LOG_DIR=$work/logs2 timeout 120 xvfb-run -a -s "-screen 0 1366x900x24" \
  bash -c "$inner2" smoke2 "$bin" "$work" "$log2" >"$artifacts/output-2.log" 2>&1 || status=$?
cp -f "$log2" "$artifacts/desktop-2.log" 2>/dev/null || true
case $status in
  0) ;;
  11) fail "phase 2: the window did not open" ;;
  12) fail "phase 2: no failure notification (the worker's retry: $(grep -c 'trigger="retry"' "$log2" 2>/dev/null) in the log)" ;;
  *) fail "phase 2: exit status $status (SIGTERM must close the window in order)" ;;
esac
grep -q 'trigger="retry" attempt=2 outcome="failed"' "$log2" || fail "phase 2: the window's worker did not retry"
grep -q "window closing" "$log2" || fail "phase 2: SIGTERM did not close the window in order"

# --- 3. A store that cannot open: the window, which opens it beside WebKit's start, closes and
# says why (status 1), instead of waiting with a window whose commands cannot answer.
mkdir -p "$work/broken"
head -c 8192 /dev/zero | tr '\0' x >"$work/broken/handoff.db"
status=0
HANDOFF_LOG_DIR=$work/logs3 timeout 60 xvfb-run -a -s "-screen 0 1366x900x24" \
  "$bin" --data-dir "$work/broken" --secrets vault >"$artifacts/output-3.log" 2>&1 || status=$?
[ "$status" -eq 1 ] || fail "phase 3: a store that cannot open: exit status $status, not 1"
grep -q "^error: cannot open the store at .*not a database" "$artifacts/output-3.log" \
  || fail "phase 3: the window did not say why the store could not open"

paint=$(jq '(.ui.firstPaintEpochMs - .windowStartEpochMs) | floor' "$report")
echo "desktop smoke: ok (UI painted ${paint} ms after the window started; nav: $(jq -c .ui.nav "$report"))"
echo "desktop smoke: ok (the window's worker retried a handoff, announced its failure, and SIGTERM closed it)"
echo "desktop smoke: ok (on a store that cannot open, the window closed and said why)"
[ -e "$artifacts/window.png" ] && echo "desktop smoke: screenshot $artifacts/window.png"
exit 0
