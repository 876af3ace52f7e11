#!/usr/bin/env bash
# The desktop window's figures (BENCHMARKS.md, "Desktop window"), each beside its limit measured
# in the same run on the same machine: a bare Tauri 2 window (examples/bare_window.rs: the same
# Tauri, an empty page, no plugins), started the same way under the same Xvfb. Not part of CI
# (timings depend on the machine's load).
#   size        the binary's size (goal < 25 MB), beside the size of its embedded UI bundle
#   start       process spawn -> the UI's first frame showing its navigation, reported by the
#               page itself (the smoke probe, HANDOFF_DESKTOP_SMOKE); the bare window: spawn ->
#               its empty page's first frame. Median of N runs, alternating, each app run on a
#               new workspace. Goal: at most the bare window's + 150 ms. (`serve` spawn -> its
#               URL printed is shown beside, for what the store's opening takes.)
#   idle memory 5 s after the first paint, PSS (shared pages counted once) and RSS summed over
#               the process and its WebKit processes, each window measured alone. Goals: PSS at
#               most the bare window's + 40 MB, RSS summed at most 1.15x the bare window's.
#   --soak MIN  instead of the above, the leak check: the window on a workspace of 100,000
#               attempts, its Stats panel scrolled through the whole history, switched between
#               lists and refreshed without end (the smoke probe's soak). Warm-up: at least a
#               minute and until the soak has made one round through each list (handoffs, then
#               every attempt), so WebKit's and the grid's caches have reached the size the work
#               needs; then PSS sampled each minute. Goal: grows by less than 20 MB over MIN
#               minutes after the warm-up (the growth during the warm-up is printed beside).
# Usage: scripts/bench-desktop.sh [--soak MIN] [path/to/handoff-console] [N]
#   default binary: the `dist` build (cargo build --profile dist) if there is one, else
#   `release`; the bare window is the example of the same profile
#   (cargo build --profile dist --example bare_window); N defaults to 7.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
soak=
if [ "${1:-}" = --soak ]; then
  soak=${2:?--soak takes the minutes}
  shift 2
fi
bin=${1:-$target/dist/handoff-console}
[ -n "${1:-}" ] || [ -x "$bin" ] || bin=$target/release/handoff-console
runs=${2:-7}
bare=$(dirname "$bin")/examples/bare_window
[ -x "$bin" ] || { echo "no binary at $bin (cargo build --release)" >&2; exit 1; }
if [ -z "$soak" ] && [ ! -x "$bare" ]; then
  echo "no bare window at $bare (cargo build --release --example bare_window, same profile as $bin)" >&2
  exit 1
fi
if [ -z "${_BENCH_IN_XVFB:-}" ]; then
  export _BENCH_IN_XVFB=1
  exec xvfb-run -a -s "-screen 0 1366x900x24" "$0" ${soak:+--soak "$soak"} "$bin" "$runs"
fi

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  # Gone before their files are: a process still closing writes into the folder being removed.
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
export HANDOFF_VAULT_PASSPHRASE=bench-passphrase HANDOFF_SECRETS=vault
export HANDOFF_LOG_DIR=$work/logs XDG_CONFIG_HOME=$work/config XDG_DATA_HOME=$work/share \
  XDG_CACHE_HOME=$work/cache
export WEBKIT_DISABLE_COMPOSITING_MODE=1 LIBGL_ALWAYS_SOFTWARE=1

now_ms() { echo $(($(date +%s%N) / 1000000)); }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2))}'; }
descendants() { # the pid and every process below it
  local p=$1
  echo "$p"
  for c in $(ps -o pid= --ppid "$p" 2>/dev/null); do descendants "$c"; done
}
mem_kb() { # mem_kb <pid> <Rss|Pss>: summed over the process tree
  local total=0 v
  for p in $(descendants "$1"); do
    v=$(awk -v k="$2:" '$1 == k {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || true)
    total=$((total + ${v:-0}))
  done
  echo "$total"
}
per_process() { # per_process <pid>: one line per process of the tree
  for p in $(descendants "$1"); do
    awk -v n="$(cat "/proc/$p/comm")" '$1 == "Rss:" {r=$2} $1 == "Pss:" {s=$2} $1 == "Anonymous:" {a=$2}
      END {printf "  %-18s RSS %4.0f MB  PSS %4.0f MB  anonymous %4.0f MB\n", n, r/1024, s/1024, a/1024}' \
      "/proc/$p/smaps_rollup" 2>/dev/null
  done
}
pss_by_process() { # pss_by_process <pid>: "name PSS (anonymous)" in MB for each process of the tree
  for p in $(descendants "$1"); do
    awk -v n="$(cat "/proc/$p/comm" 2>/dev/null)" '$1 == "Pss:" {s=$2} $1 == "Pss_Anon:" {a=$2}
      END {printf "%s %.0f (%.0f)", n, s/1024, a/1024}' "/proc/$p/smaps_rollup" 2>/dev/null && printf "; "
  done
}
wait_for() { # wait_for <seconds> <command...>
  local deadline=$(($(date +%s) + $1)); shift
  until "$@"; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.005
  done
}

# --- the leak check (--soak) -------------------------------------------------------------------
if [ -n "$soak" ]; then
  ws=$work/soak
  "$bin" --data-dir "$ws" demo >"$work/demo.log" 2>&1 || { cat "$work/demo.log" >&2; exit 1; }
  (cd "$root" && cargo run -q --release --no-default-features --example history_seed -- \
    --dir "$ws" --attempts 100000)
  report=$work/report-soak.json
  HANDOFF_DESKTOP_SMOKE=$report HANDOFF_DESKTOP_SMOKE_STAY=1 HANDOFF_DESKTOP_SMOKE_SOAK=1 \
    "$bin" --data-dir "$ws" >"$work/soak.log" 2>&1 &
  app=$!
  pids+=("$app")
  wait_for 60 test -e "$report" || { echo "no report" >&2; cat "$work/soak.log" >&2; exit 1; }
  started=$(mem_kb "$app" Pss)
  warm_start=$(date +%s)
  sleep 60
  # Two rounds: the first through the handoffs, the second through every attempt.
  for _ in $(seq 1 600); do
    [ "$(jq -r '.ui.soakRounds // 0' "$report")" -lt 2 ] || break
    sleep 1
  done
  [ "$(jq -r '.ui.soakRounds // 0' "$report")" -ge 2 ] ||
    { echo "the soak did not finish a round through each list in 11 min" >&2; exit 1; }
  first=$(mem_kb "$app" Pss)
  echo "binary: $bin ($(uname -m), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
  echo "soak: the Stats panel over 100,000 attempts for $soak min after its warm-up"
  echo "warm-up: $(($(date +%s) - warm_start)) s, one round through each list; PSS $((started / 1024)) -> $((first / 1024)) MB"
  echo "minute 0: PSS $((first / 1024)) MB, RSS $(($(mem_kb "$app" Rss) / 1024)) MB, rounds $(jq -r '.ui.soakRounds // 0' "$report") (PSS MB, anonymous in brackets: $(pss_by_process "$app"))"
  for m in $(seq 1 "$soak"); do
    sleep 60
    kill -0 "$app" 2>/dev/null || { echo "the app stopped" >&2; cat "$work/soak.log" >&2; exit 1; }
    echo "minute $m: PSS $(($(mem_kb "$app" Pss) / 1024)) MB, RSS $(($(mem_kb "$app" Rss) / 1024)) MB, rounds $(jq -r '.ui.soakRounds // 0' "$report") (PSS MB, anonymous in brackets: $(pss_by_process "$app"))"
  done
  last=$(mem_kb "$app" Pss)
  rounds=$(jq -r '.ui.soakRounds // 0' "$report")
  rows=$(jq -r '.ui.rows // 0' "$report")
  growth=$(((last - first) / 1024))
  [ "$rounds" -gt 0 ] || { echo "the soak made no round through the history" >&2; exit 1; }
  verdict=$([ "$growth" -lt 20 ] && echo met || echo "NOT met")
  echo "PSS growth over $soak min after the warm-up: $growth MB ($rounds rounds through $((rows - 1)) rows; goal < 20 MB): $verdict; from the first frame: $(((last - started) / 1024)) MB"
  exit 0
fi

# --- start: the window and the bare window, alternating ------------------------------------------
window_ms=()
bare_ms=()
for i in $(seq 1 "$runs"); do
  report=$work/report-$i.json
  t0=$(now_ms)
  HANDOFF_DESKTOP_SMOKE=$report "$bin" --data-dir "$work/w$i" >"$work/w$i.log" 2>&1 &
  pid=$!
  wait_for 60 test -e "$report" || { echo "run $i: no report" >&2; cat "$work/w$i.log" >&2; exit 1; }
  wait "$pid" || { echo "run $i: the app failed" >&2; exit 1; }
  window_ms+=("$(jq --argjson t0 "$t0" '(.ui.firstPaintEpochMs - $t0) | floor' "$report")")

  report=$work/bare-$i.json
  t0=$(now_ms)
  BARE_WINDOW_REPORT=$report "$bare" >"$work/b$i.log" 2>&1 &
  pid=$!
  wait_for 60 test -e "$report" || { echo "bare $i: no report" >&2; cat "$work/b$i.log" >&2; exit 1; }
  wait "$pid" || { echo "bare $i: the window failed" >&2; exit 1; }
  bare_ms+=("$(jq --argjson t0 "$t0" '(.firstPaintEpochMs - $t0) | floor' "$report")")
done

# --- start: serve (for context) -----------------------------------------------------------------
serve_ms=()
for i in $(seq 1 "$runs"); do
  t0=$(now_ms)
  "$bin" --data-dir "$work/s$i" serve --bind 127.0.0.1:0 --no-worker >"$work/s$i.out" 2>&1 &
  pid=$!
  wait_for 60 grep -q "http://" "$work/s$i.out" || { echo "serve $i did not start" >&2; cat "$work/s$i.out" >&2; exit 1; }
  serve_ms+=("$(($(now_ms) - t0))")
  kill "$pid"; wait "$pid" 2>/dev/null || true
done

# --- idle memory: each window alone (PSS divides shared pages among the processes mapping them) --
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

report=$work/report-idle.json
HANDOFF_DESKTOP_SMOKE=$report HANDOFF_DESKTOP_SMOKE_STAY=1 "$bin" --data-dir "$work/idle" \
  >"$work/idle.log" 2>&1 &
app=$!
pids+=("$app")
wait_for 60 test -e "$report"
sleep 5
app_rss=$(mem_kb "$app" Rss); app_pss=$(mem_kb "$app" Pss); app_anon=$(mem_kb "$app" Anonymous)
app_lines=$(per_process "$app")
app_procs=$(descendants "$app" | xargs -n1 -I{} cat /proc/{}/comm 2>/dev/null | sort | uniq -c | awk '{printf "%s%s x%s", sep, $2, $1; sep=", "}')
stop "$app"

report=$work/bare-idle.json
BARE_WINDOW_REPORT=$report BARE_WINDOW_STAY=1 "$bare" >"$work/bare-idle.log" 2>&1 &
bw=$!
pids+=("$bw")
wait_for 60 test -e "$report"
sleep 5
bare_rss=$(mem_kb "$bw" Rss); bare_pss=$(mem_kb "$bw" Pss); bare_anon=$(mem_kb "$bw" Anonymous)
bare_lines=$(per_process "$bw")
stop "$bw"

"$bin" --data-dir "$work/idle-serve" serve --bind 127.0.0.1:0 >"$work/idle-serve.out" 2>&1 &
srv=$!
pids+=("$srv")
wait_for 60 grep -q "http://" "$work/idle-serve.out"
sleep 5
srv_rss=$(mem_kb "$srv" Rss); srv_pss=$(mem_kb "$srv" Pss); srv_anon=$(mem_kb "$srv" Anonymous)
stop "$srv"

size=$(stat -c %s "$bin")
ui_size=$(du -sb "$root/ui/dist" 2>/dev/null | cut -f1 || echo 0)
mb() { awk -v b="$1" 'BEGIN {printf "%.1f MB", b / 1048576}'; }
kbmb() { awk -v k="$1" 'BEGIN {printf "%.0f MB", k / 1024}'; }
verdict() { if [ "$1" = 1 ]; then echo met; else echo "NOT met"; fi; }
window_med=$(printf '%s\n' "${window_ms[@]}" | median)
bare_med=$(printf '%s\n' "${bare_ms[@]}" | median)

echo "binary: $bin ($(uname -m), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
echo "bare window: $bare ($(mb "$(stat -c %s "$bare")"))"
printf '%-30s %-24s %-24s %s\n' "figure" "desktop window" "bare window" "serve"
printf '%-30s %-24s %-24s %s\n' "start to first paint, median" "$window_med ms" "$bare_med ms" \
  "$(printf '%s\n' "${serve_ms[@]}" | median) ms to listening"
echo "  all $runs runs, ms: window ${window_ms[*]}; bare ${bare_ms[*]}; serve ${serve_ms[*]}"
printf '%-30s %-24s %-24s %s\n' "idle PSS after 5 s" "$(kbmb "$app_pss")" "$(kbmb "$bare_pss")" "$(kbmb "$srv_pss")"
printf '%-30s %-24s %-24s %s\n' "idle RSS summed" "$(kbmb "$app_rss")" "$(kbmb "$bare_rss")" "$(kbmb "$srv_rss")"
printf '%-30s %-24s %-24s %s\n' "private anonymous" "$(kbmb "$app_anon")" "$(kbmb "$bare_anon")" "$(kbmb "$srv_anon")"
echo "window processes: $app_procs"
echo "$app_lines"
echo "bare window processes:"
echo "$bare_lines"
echo
echo "goals:"
echo "  binary size $(mb "$size") (UI bundle $(mb "$ui_size")); goal < 25 MB: $(verdict "$((size < 25 * 1048576))")"
echo "  first paint $window_med ms; goal <= bare $bare_med + 150 ms: $(verdict "$((window_med <= bare_med + 150))")"
echo "  idle PSS $(kbmb "$app_pss"); goal <= bare $(kbmb "$bare_pss") + 40 MB: $(verdict "$((app_pss <= bare_pss + 40 * 1024))")"
echo "  idle RSS summed $(kbmb "$app_rss"); goal <= 1.15 x bare $(kbmb "$bare_rss"): $(verdict "$((app_rss * 100 <= bare_rss * 115))")"
