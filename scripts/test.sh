#!/usr/bin/env bash
# Runs every test. Database tests read HANDOFF_TEST_PG_URL / HANDOFF_TEST_MYSQL_URL and skip
# (saying so) when unset; .ci/run sets them. Benchmarks are plain binaries (harness = false):
# `make lint` compiles them (clippy --all-targets) and `cargo bench` runs them.
# Then the desktop window (feature `desktop`, same target dir): its unit tests and the smoke
# test under Xvfb (scripts/desktop-smoke.sh); DESKTOP=0 skips them.
set -euo pipefail
features=${FEATURES:---no-default-features}
if cargo nextest --version >/dev/null 2>&1; then
  # shellcheck disable=SC2086
  cargo nextest run $features --lib --bins --tests --no-fail-fast
else
  echo "cargo-nextest not found; using cargo test" >&2
  # shellcheck disable=SC2086
  cargo test $features --lib --bins --tests --no-fail-fast
fi

if [ "${DESKTOP:-1}" != 0 ]; then
  echo "== desktop: unit tests, then the window's smoke test under Xvfb" >&2
  if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --lib --test no_command -E 'test(/^desktop::/) | binary(no_command)'
  else
    cargo test --lib desktop::
    cargo test --test no_command
  fi
  cargo build
  scripts/desktop-smoke.sh "${CARGO_TARGET_DIR:-target}/debug/handoff-console"
fi
