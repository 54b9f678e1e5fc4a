#!/usr/bin/env bash
# scripts/test.sh: the one test command (README; .ci/run calls it).
#
#   scripts/test.sh [ARGS...]      ARGS go to `cargo test`, e.g. scripts/test.sh backup -- --nocapture
#
# 1. Brings up real PostgreSQL 15 and 16, Redis and Garage with scripts/testenv.sh (installing
#    them when missing) and loads target/testenv/env, unless the caller provides the servers
#    by setting K12CTL_TEST_PG_URL, K12CTL_TEST_PG16_URL, K12CTL_TEST_PG16_BINDIR and
#    K12CTL_TEST_S3_* (see scripts/testenv.sh) itself.
# 2. cargo fmt --check; cargo clippy --all-targets --features servers --locked -- -D warnings;
#    cargo test --locked --all-targets --features servers ARGS (the feature `servers` adds the
#    `it` target, the tests against the servers; plain `cargo test` runs only the others).
# 3. Tears the servers down on exit, unless K12CTL_KEEP_TESTENV=1 (the next run then reuses
#    them; stop them with scripts/testenv.sh down).
# Exits with the status of the first step that failed. Needs no terminal.
set -euo pipefail

ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd -- "$ROOT"
ENV_FILE="${K12CTL_TESTENV_DIR:-$ROOT/target/testenv}/env"
CARGO_BIN="${CARGO:-cargo}"

log() { printf 'test.sh: %s\n' "$*" >&2; }
now_ms() { date +%s%3N; }
took() {
  local ms=$(($(now_ms) - $1))
  printf '%d.%ds' $((ms / 1000)) $(((ms % 1000) / 100))
}
# step NAME CMD...: run CMD, report its time; the script stops (set -e) with CMD's status.
step() {
  local name=$1 t0 rc=0
  shift
  t0=$(now_ms)
  log "$name: $*"
  "$@" || rc=$?
  if [[ $rc -ne 0 ]]; then
    log "$name: FAILED with exit code $rc ($(took "$t0"))"
    return "$rc"
  fi
  log "$name: ok ($(took "$t0"))"
}

teardown() {
  local rc=$?
  trap - EXIT
  if ! scripts/testenv.sh down; then
    log "warning: scripts/testenv.sh down failed"
  fi
  exit "$rc"
}

REQUIRED=(K12CTL_TEST_PG_URL K12CTL_TEST_PG16_URL K12CTL_TEST_PG16_BINDIR K12CTL_TEST_S3_ENDPOINT
  K12CTL_TEST_S3_BUCKET K12CTL_TEST_S3_REGION K12CTL_TEST_S3_ACCESS_KEY_ID
  K12CTL_TEST_S3_SECRET_ACCESS_KEY)
provided=()
missing=()
for var in "${REQUIRED[@]}"; do
  if [[ -n ${!var:-} ]]; then provided+=("$var"); else missing+=("$var"); fi
done

if [[ ${#provided[@]} -gt 0 ]]; then
  if [[ ${#missing[@]} -gt 0 ]]; then
    log "error: the environment sets ${provided[*]} but not ${missing[*]}:"
    log "set all of them to use your own servers, or none to let scripts/testenv.sh start them"
    exit 2
  fi
  log "using the servers given in the environment (K12CTL_TEST_*); starting none"
else
  # Signals end the script through `exit`, so that the EXIT trap tears down.
  trap 'exit 130' INT
  trap 'exit 143' TERM
  if [[ ${K12CTL_KEEP_TESTENV:-0} == 1 ]]; then
    log "K12CTL_KEEP_TESTENV=1: the servers stay up afterwards (stop: scripts/testenv.sh down)"
  else
    trap teardown EXIT
  fi
  step testenv scripts/testenv.sh up
  # shellcheck source=/dev/null
  . "$ENV_FILE"
fi

step fmt "$CARGO_BIN" fmt --check
step clippy "$CARGO_BIN" clippy --all-targets --features servers --locked -- -D warnings
step test "$CARGO_BIN" test --locked --all-targets --features servers "$@"
