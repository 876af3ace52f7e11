#!/usr/bin/env bash
# The desktop window's figures (BENCHMARKS.md, "Desktop window"), each beside a baseline measured
# in the same run on the same machine. Not part of CI (timings depend on the machine's load).
#   size        the binary's size (goal < 25 MB), beside the size of its embedded UI bundle
#   start       process spawn -> the UI's first frame showing its navigation, reported by the
#               page itself (the smoke probe, HANDOFF_DESKTOP_SMOKE); median of N runs, each on
#               a new workspace (goal < 1.5 s). Baseline: `serve` spawn -> its URL printed
#               (the store opened and the port listening), median of N.
#   idle memory RSS summed over the app and its WebKit processes after 5 s idle (goal < 150 MB),
#               with PSS (shared pages counted once) and the private anonymous memory (heaps);
#               baseline: `serve` after 5 s idle.
# All runs share one Xvfb server (1366x900x24), started before the clock starts.
# Usage: scripts/bench-desktop.sh [path/to/handoff-console] [N]
#   default binary: the `dist` build (cargo build --profile dist) if there is one, else `release`;
#   N defaults to 7.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
bin=${1:-$target/dist/handoff-console}
[ -n "${1:-}" ] || [ -x "$bin" ] || bin=$target/release/handoff-console
runs=${2:-7}
[ -x "$bin" ] || { echo "no binary at $bin (cargo build --release)" >&2; exit 1; }
if [ -z "${_BENCH_IN_XVFB:-}" ]; then
  export _BENCH_IN_XVFB=1
  exec xvfb-run -a -s "-screen 0 1366x900x24" "$0" "$bin" "$runs"
fi

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
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
wait_for() { # wait_for <seconds> <command...>
  local deadline=$(($(date +%s) + $1)); shift
  until "$@"; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.005
  done
}

# --- start: the window -------------------------------------------------------------------
window_ms=()
for i in $(seq 1 "$runs"); do
  report=$work/report-$i.json
  t0=$(now_ms)
  HANDOFF_DESKTOP_SMOKE=$report "$bin" --data-dir "$work/w$i" >"$work/w$i.log" 2>&1 &
  pid=$!
  wait_for 60 test -e "$report" || { echo "run $i: no report" >&2; cat "$work/w$i.log" >&2; exit 1; }
  wait "$pid" || { echo "run $i: the app failed" >&2; exit 1; }
  window_ms+=("$(jq --argjson t0 "$t0" '(.ui.firstPaintEpochMs - $t0) | floor' "$report")")
done

# --- start: serve (baseline) ------------------------------------------------------------------
serve_ms=()
for i in $(seq 1 "$runs"); do
  t0=$(now_ms)
  "$bin" --data-dir "$work/s$i" serve --bind 127.0.0.1:0 --no-worker >"$work/s$i.out" 2>&1 &
  pid=$!
  wait_for 60 grep -q "http://" "$work/s$i.out" || { echo "serve $i did not start" >&2; cat "$work/s$i.out" >&2; exit 1; }
  serve_ms+=("$(($(now_ms) - t0))")
  kill "$pid"; wait "$pid" 2>/dev/null || true
done

# --- idle memory ------------------------------------------------------------------------------
report=$work/report-idle.json
HANDOFF_DESKTOP_SMOKE=$report HANDOFF_DESKTOP_SMOKE_STAY=1 "$bin" --data-dir "$work/idle" \
  >"$work/idle.log" 2>&1 &
app=$!
pids+=("$app")
"$bin" --data-dir "$work/idle-serve" serve --bind 127.0.0.1:0 >"$work/idle-serve.out" 2>&1 &
srv=$!
pids+=("$srv")
wait_for 60 test -e "$report"
sleep 5
app_rss=$(mem_kb "$app" Rss); app_pss=$(mem_kb "$app" Pss); app_anon=$(mem_kb "$app" Anonymous)
per_process=$(for p in $(descendants "$app"); do
  awk -v n="$(cat "/proc/$p/comm")" '$1 == "Rss:" {r=$2} $1 == "Pss:" {s=$2} $1 == "Anonymous:" {a=$2}
    END {printf "  %-18s RSS %4.0f MB  PSS %4.0f MB  anonymous %4.0f MB\n", n, r/1024, s/1024, a/1024}' \
    "/proc/$p/smaps_rollup" 2>/dev/null
done)
app_procs=$(descendants "$app" | xargs -n1 -I{} cat /proc/{}/comm 2>/dev/null | sort | uniq -c | awk '{printf "%s%s x%s", sep, $2, $1; sep=", "}')
srv_rss=$(mem_kb "$srv" Rss); srv_pss=$(mem_kb "$srv" Pss); srv_anon=$(mem_kb "$srv" Anonymous)

size=$(stat -c %s "$bin")
ui_size=$(du -sb "$root/ui/dist" 2>/dev/null | cut -f1 || echo 0)
mb() { awk -v b="$1" 'BEGIN {printf "%.1f MB", b / 1048576}'; }
kbmb() { awk -v k="$1" 'BEGIN {printf "%.0f MB", k / 1024}'; }

echo "binary: $bin ($(uname -m), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
printf '%-34s %-28s %s\n' "figure" "desktop window" "baseline"
printf '%-34s %-28s %s\n' "binary size (goal < 25 MB)" "$(mb "$size")" "embedded UI bundle $(mb "$ui_size")"
printf '%-34s %-28s %s\n' "start, median of $runs (goal < 1.5 s)" \
  "$(printf '%s\n' "${window_ms[@]}" | median) ms to first paint" \
  "$(printf '%s\n' "${serve_ms[@]}" | median) ms serve to listening"
printf '%-34s %-28s %s\n' "  all runs" "${window_ms[*]}" "${serve_ms[*]}"
printf '%-34s %-28s %s\n' "idle RSS after 5 s (goal < 150 MB)" "$(kbmb "$app_rss")" "$(kbmb "$srv_rss") serve"
printf '%-34s %-28s %s\n' "  PSS / private anonymous" "$(kbmb "$app_pss") / $(kbmb "$app_anon")" \
  "$(kbmb "$srv_pss") / $(kbmb "$srv_anon")"
echo "window processes: $app_procs"
echo "$per_process"
