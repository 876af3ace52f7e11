#!/usr/bin/env bash
# Runs every test. Database tests use HANDOFF_TEST_PG_URL / HANDOFF_TEST_MYSQL_URL; when they are
# unset, this machine's servers at the default addresses are used if they answer (as .ci/run
# sets them). A test whose server answers nowhere cannot run: it is left out by its name (every
# PostgreSQL test has `postgres` in it, every MySQL/MariaDB test `mysql` or `mariadb`) and
# counted, and the summary says how many did not run; none is ever reported as passed. Tests
# named `as_root` (a real full disk on a small tmpfs, a user with no home folder) need root and
# are left out and counted the same way on other accounts.
# Benchmarks are plain binaries (harness = false): `make lint` compiles them (clippy
# --all-targets) and `cargo bench` runs them; the intake benchmark also runs here, small and in a
# debug build, for its exactly-once check (step 1b).
#   1. Rust: unit and integration tests (cargo nextest, or cargo test without it). The lib
#      tests also write the UI's generated TypeScript types (ts-rs).
#      Then the store matrix's second pass: the console's integration tests again with each
#      console on the PostgreSQL store (HANDOFF_TEST_STORE=postgres, tests/common/matrix.rs).
#   1b. The intake benchmark's smoke run (HANDOFF_BENCH_SMOKE: goals left unjudged).
#   2. The generated types must be the committed ones (a changed Rust type needs them updated).
#   3. UI: type check, lint, component tests (Vitest).
#   4. End to end: `serve` with real targets, driven in Debian's Chromium (Playwright).
#   5. The desktop window (feature `desktop`, same target dir): its unit tests and the smoke
#      test under Xvfb (scripts/desktop-smoke.sh); DESKTOP=0 skips them.
set -euo pipefail
cd "$(dirname "$0")/.."
# The tests choose their store themselves (tests/common/matrix.rs): a store named in the
# environment would send the consoles the tests open by data dir to it instead.
unset HANDOFF_STORE_URL
features=${FEATURES:---no-default-features}
target_dir=${CARGO_TARGET_DIR:-$PWD/target}

# The machine's database servers, when the URLs are not set and a server answers there
# (`none` says not to use one: its tests are then left out and counted).
for var in HANDOFF_TEST_PG_URL HANDOFF_TEST_MYSQL_URL; do
  if [ "${!var:-}" = none ]; then unset "$var"; declare "skip_${var}=1"; fi
done
answers() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
pg_ready() {
  if command -v pg_isready >/dev/null 2>&1; then pg_isready -h 127.0.0.1 -p 5432 -q; else answers 127.0.0.1 5432; fi
}
mysql_ready() {
  if command -v mysqladmin >/dev/null 2>&1; then mysqladmin -h 127.0.0.1 -u root ping >/dev/null 2>&1; else answers 127.0.0.1 3306; fi
}
if [ -z "${HANDOFF_TEST_PG_URL:-}" ] && [ -z "${skip_HANDOFF_TEST_PG_URL:-}" ] && pg_ready; then
  export HANDOFF_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/test
fi
if [ -z "${HANDOFF_TEST_MYSQL_URL:-}" ] && [ -z "${skip_HANDOFF_TEST_MYSQL_URL:-}" ] && mysql_ready; then
  export HANDOFF_TEST_MYSQL_URL=mysql://root@127.0.0.1:3306/test
fi
# What cannot run: selected by name, left out, counted.
excluded=()
reasons=()
if [ -z "${HANDOFF_TEST_PG_URL:-}" ]; then
  excluded+=("(kind(test) & test(/postgres/))")
  reasons+=("PostgreSQL: HANDOFF_TEST_PG_URL is not set and no server was used at 127.0.0.1:5432")
fi
if [ -z "${HANDOFF_TEST_MYSQL_URL:-}" ]; then
  excluded+=("(kind(test) & test(/mysql|mariadb/))")
  reasons+=("MariaDB/MySQL: HANDOFF_TEST_MYSQL_URL is not set and no server was used at 127.0.0.1:3306")
fi
if [ "$(id -u)" != 0 ]; then
  excluded+=("(kind(test) & test(/as_root/))")
  reasons+=("root: the tests named as_root mount a tmpfs or run the console as another user")
fi
not_run=0
not_run_note=""

echo "== rust tests"
if cargo nextest --version >/dev/null 2>&1; then
  filter=()
  if [ ${#excluded[@]} -gt 0 ]; then
    expr=$(IFS='|'; echo "${excluded[*]}")
    # shellcheck disable=SC2086
    not_run=$(cargo nextest list $features --lib --bins --tests -E "$expr" --message-format oneline 2>/dev/null | grep -c . || true)
    filter=(-E "not ($expr)")
  fi
  # A failing run still reports what did not run (below) before it fails the script.
  # shellcheck disable=SC2086
  cargo nextest run $features --lib --bins --tests --no-fail-fast "${filter[@]}" || rust_status=$?
else
  echo "cargo-nextest not found; using cargo test" >&2
  skips=()
  [ -z "${HANDOFF_TEST_PG_URL:-}" ] && skips+=(--skip postgres)
  [ -z "${HANDOFF_TEST_MYSQL_URL:-}" ] && skips+=(--skip mysql --skip mariadb)
  [ "$(id -u)" != 0 ] && skips+=(--skip as_root)
  if [ ${#skips[@]} -gt 0 ]; then
    echo "tests that cannot run here are left out: each binary's 'filtered out' counts them" >&2
    not_run_note="the tests counted as 'filtered out' above"
  fi
  # The unit tests need no server: only the integration tests are left out by name.
  # shellcheck disable=SC2086
  cargo test $features --lib --bins --no-fail-fast || rust_status=$?
  # shellcheck disable=SC2086
  cargo test $features --tests --no-fail-fast -- "${skips[@]}" || rust_status=$?
fi

# The matrix: the integration tests of the console's behaviour again, each console on a fresh
# schema of the PostgreSQL store (tests/common/matrix.rs). Left out of this pass (they ran on
# SQLite above): the tests that read the local store's file or run the CLI on the data dir.
matrix='binary(handoff_api) | binary(retry) | binary(testing) | binary(http) | binary(health) | binary(health_deliveries) | binary(intake) | binary(intake_mappings) | binary(handoffs) | binary(secrets) | binary(audit) | binary(at_rest) | binary(export)'
local_only=(
  filters_and_a_window_by_creation_time_select_the_handoffs_counted
  the_handoffs_command_prints_rows_newest_first_filters_by_status_and_reads_history_files
  a_bulk_retry_skips_what_was_delivered_since_and_that_is_no_failure
  a_history_file_pages_attempts_and_handoffs_and_shows_one_attempt
  the_store_refuses_to_change_or_delete_an_entry
  a_secret_is_set_where_none_was_stored_and_rotated_where_it_replaced_one
  reveal_export_and_key_rotation_are_recorded_through_the_service
  an_update_diff_lists_changed_paths_and_never_a_secret
  a_name_taken_while_updating_is_a_name_problem_and_keeps_the_previous_secrets
  a_set_secret_the_store_cannot_record_keeps_the_previous_secret
  a_failed_update_keeps_the_previous_secret
  sealed_data_moved_to_another_handoff_is_refused
  two_consoles_making_the_first_key_agree_on_one
  a_key_rotation_reseals_everything_resumes_when_cut_short_and_drops_the_old_key
  without_its_data_key_the_history_opens_and_retry_and_reveal_say_why
  a_missing_current_key_gets_a_new_one_for_new_data_and_rotation_skips_what_it_cannot_open
  rejected_credentials_are_an_error_that_names_them
  the_delivery_summaries_give_the_last_delivery_and_the_window
  without_recent_deliveries_the_probes_decide_and_the_check_says_so
  the_cli_lists_problems_first_and_the_integration_list_shows_deliveries
  a_signed_webhook_is_committed_to_the_inbox_before_its_202_and_a_repeat_gets_the_same_answer
  a_key_rotation_reseals_inbox_messages_and_keeps_the_old_key_until_it_has
  older_records_are_searched_for_raw_values_and_structural_ones_left_whole
  the_cli_reads_a_history_file_without_a_keyring_and_refuses_foreign_files
)
local_expr=$(printf 'test(=%s) | ' "${local_only[@]}")
local_expr="(${local_expr% | })"
echo "== rust tests on the PostgreSQL store (HANDOFF_TEST_STORE=postgres)"
if [ -n "${HANDOFF_TEST_PG_URL:-}" ] && cargo nextest --version >/dev/null 2>&1; then
  echo "   (${#local_only[@]} of these binaries' tests read the SQLite file or run the CLI on the data dir: SQLite pass only)"
  # shellcheck disable=SC2086
  HANDOFF_TEST_STORE=postgres cargo nextest run $features --tests --no-fail-fast \
    -E "($matrix) & not $local_expr" || rust_status=$?
else
  matrix_skipped=1
  reasons+=("the PostgreSQL pass of the store matrix: it needs HANDOFF_TEST_PG_URL (or a server at 127.0.0.1:5432) and cargo-nextest")
fi
if [ "$not_run" -gt 0 ]; then
  not_run_note="$not_run tests"
fi
if [ -n "${matrix_skipped:-}" ]; then
  not_run_note="${not_run_note:+$not_run_note and }the PostgreSQL pass of the store matrix"
fi
if [ -n "$not_run_note" ]; then
  echo "== NOT RUN: $not_run_note (what they need is not here):" >&2
  for r in "${reasons[@]}"; do echo "   $r" >&2; done
fi
if [ "${rust_status:-0}" != 0 ]; then
  echo "== Rust tests FAILED" >&2
  exit "$rust_status"
fi

echo "== benchmark smoke: intake (debug build, a few hundred signed webhooks)"
# Every accepted message must end delivered exactly once (the benchmark fails otherwise); its
# goals are judged on release runs only (BENCHMARKS.md), so this run leaves them unjudged.
# shellcheck disable=SC2086
HANDOFF_BENCH_SMOKE=1 cargo test $features --bench intake -- --requests 300 --rounds 1

echo "== generated UI types are current"
if [ -n "$(git status --porcelain -- ui/src/api/types ui/src/api/operations.ts)" ]; then
  git status --porcelain -- ui/src/api/types ui/src/api/operations.ts
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

if [ -n "$not_run_note" ]; then
  echo "== every test passed except $not_run_note, which were NOT RUN (see above)" >&2
else
  echo "== every test ran and passed" >&2
fi
