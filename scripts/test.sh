#!/usr/bin/env bash
# Runs every test. Database tests read HANDOFF_TEST_PG_URL / HANDOFF_TEST_MYSQL_URL and skip
# (saying so) when unset; .ci/run sets them. Benchmarks are plain binaries (harness = false):
# `make lint` compiles them (clippy --all-targets) and `cargo bench` runs them.
#   1. Rust: unit and integration tests (cargo nextest, or cargo test without it). The lib
#      tests also write the UI's generated TypeScript types (ts-rs).
#   2. The generated types must be the committed ones (a changed Rust type needs them updated).
#   3. UI: type check, lint, component tests (Vitest).
#   4. End to end: `serve` with real targets, driven in Debian's Chromium (Playwright).
#   5. The desktop window (feature `desktop`, same target dir): its unit tests and the smoke
#      test under Xvfb (scripts/desktop-smoke.sh); DESKTOP=0 skips them.
set -euo pipefail
cd "$(dirname "$0")/.."
features=${FEATURES:---no-default-features}
target_dir=${CARGO_TARGET_DIR:-$PWD/target}

echo "== rust tests"
if cargo nextest --version >/dev/null 2>&1; then
  # shellcheck disable=SC2086
  cargo nextest run $features --lib --bins --tests --no-fail-fast
else
  echo "cargo-nextest not found; using cargo test" >&2
  # shellcheck disable=SC2086
  cargo test $features --lib --bins --tests --no-fail-fast
fi

echo "== generated UI types are current"
if [ -n "$(git status --porcelain -- ui/src/api/types)" ]; then
  git status --porcelain -- ui/src/api/types
  echo "ui/src/api/types differs from what the Rust types generate: commit the regenerated files" >&2
  exit 1
fi

echo "== ui: types, lint, component tests"
[ -d ui/node_modules ] || (cd ui && npm ci --no-audit --no-fund --loglevel=error)
(cd ui && npx tsc --noEmit -p tsconfig.json && npx eslint --max-warnings 0 src e2e && npx vitest run)

echo "== end to end (serve + Chromium)"
# shellcheck disable=SC2086
cargo build $features
HANDOFF_BIN="$target_dir/debug/handoff-console" node ui/e2e/run.mjs

if [ "${DESKTOP:-1}" != 0 ]; then
  echo "== desktop: unit tests, then the window's smoke test under Xvfb" >&2
  if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --lib --test no_command -E 'test(/^desktop::/) | binary(no_command)'
  else
    cargo test --lib desktop::
    cargo test --test no_command
  fi
  cargo build
  scripts/desktop-smoke.sh "$target_dir/debug/handoff-console"
fi
