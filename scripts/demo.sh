#!/usr/bin/env bash
# scripts/demo.sh: k12ctl's main job on an embedded default (README, "Set-up: the two commands").
#
#   scripts/demo.sh
#
# 1. Starts a throwaway PostgreSQL 15 cluster with `scripts/testenv.sh up postgres` (installing
#    PostgreSQL with apt-get when it is missing), in its own state directory target/demo-env/,
#    so it never touches a test environment in target/testenv/.
# 2. Builds k12ctl (cargo build --release --locked) and loads the platform's real schema (its
#    newest pg_dump --schema-only, ../shared/platform/platform-schema-2026-03-07.sql beside the
#    repository, or the file K12CTL_PLATFORM_SCHEMA names) into a new database k12_demo.
# 3. Onboards a new district into k12_demo, as a platform operator would:
#    - `k12ctl provision school --file examples/schools.yaml`: its three schools (first checking
#      that none of their subdomains is taken), the first creating their district;
#    - the same command again: every school `already provisioned`, and no table's row count
#      changes (idempotent);
#    - `k12ctl import csv` of examples/roster/users.csv, courses.csv and enrollments.csv, in that
#      order, into the first school, larkspur-hs;
#    - `k12ctl provision status larkspur-hs`, which must report every required item done and
#      80% (the platform's checklist: standards and a logo are set in the platform itself);
#    - scripts/check-counters.sql on k12_demo, which must return no rows (the counter caches that
#      provisioning and the imports maintain are exact).
#    This comes before the backup, so that the backup, its restores and the checks below cover
#    what k12ctl wrote. Then it records every table's row count in
#    k12_demo: what the backup must hold.
# 4. Runs `k12ctl backup run`, `backup list` and `backup show latest` into file:// storage in
#    target/demo-backups/ (emptied first), with DATABASE_URL in the environment.
# 5. Proves the backup with stock tools only: gunzip | pg_restore into k12_demo_restored, the
#    same row count in every table as k12_demo had and as the manifest says, and
#    scripts/check-counters.sql returning no rows.
# 6. Proves it with k12ctl too: `backup verify --latest`, then `restore --latest` into
#    k12_demo_copy.
# 7. Restores one school's rows: deletes the course "Algebra I" of larkspur-hs with its sections and
#    enrollments from k12_demo, shows the plan (`restore --tenant larkspur-hs --merge --dry-run`),
#    merges them back from the backup, and checks that the same rows came back with the same ids
#    and counter cache.
# 8. Stops the cluster on exit, unless K12CTL_KEEP_DEMO=1 (the next run then reuses it; stop it
#    with K12CTL_TESTENV_DIR=target/demo-env scripts/testenv.sh down).
#
# The backup stays in target/demo-backups/. k12ctl runs on its defaults: the caller's K12CTL_*,
# PG* and DATABASE_URL variables, ./.env and k12ctl config files are ignored. Needs no terminal.
# Each step is one `step "heading" command...` line below; add new ones the same way.
set -euo pipefail

KEEP_DEMO=${K12CTL_KEEP_DEMO:-0}
# Only the demo's own settings, whatever the caller's shell has.
while read -r var; do unset "$var"; done < <(compgen -e | grep -E '^(K12CTL_|PG|DATABASE_URL$)' || true)

ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd -- "$ROOT"
export K12CTL_TESTENV_DIR="$ROOT/target/demo-env"
BACKUPS="$ROOT/target/demo-backups"
WORK="$K12CTL_TESTENV_DIR/k12ctl" # k12ctl's working directory: no .env, an empty k12ctl.yaml
CARGO_BIN="${CARGO:-cargo}"
if ! command -v "$CARGO_BIN" >/dev/null 2>&1 && [[ -x $HOME/.cargo/bin/cargo ]]; then
  CARGO_BIN=$HOME/.cargo/bin/cargo
fi
SOURCE_DB=k12_demo
RESTORED_DB=k12_demo_restored
COPY_DB=k12_demo_copy
PLATFORM_SCHEMA=${K12CTL_PLATFORM_SCHEMA:-$ROOT/../shared/platform/platform-schema-2026-03-07.sql}
SCHOOLS_FILE=examples/schools.yaml # relative to the repository
ROSTER_DIR=examples/roster
ROSTER_TENANT=larkspur-hs          # the first school of $SCHOOLS_FILE, whose roster it is
SCHOOLS=()                         # set by provision_schools: the subdomains in $SCHOOLS_FILE

K12CTL_BIN=""   # set by build_k12ctl
PG_BINDIR=""    # set by start_postgres
DEMO_DATABASE_URL=""
BACKUP_FILE=""  # set by locate_backup
MANIFEST_JSON=""
declare -A SOURCE_COUNTS=() # table -> rows in k12_demo before the backup

# ---------------------------------------------------------------------------------------
# helpers

now_ms() { date +%s%3N; }
took() {
  local ms=$(($(now_ms) - $1))
  printf '%d.%ds' $((ms / 1000)) $(((ms % 1000) / 100))
}
T0=$(now_ms)
if [[ -t 1 && -z ${NO_COLOR:-} ]]; then BOLD=$'\e[1m' RESET=$'\e[0m'; else BOLD="" RESET=""; fi
heading() { printf '\n%s==> %s%s\n' "$BOLD" "$*" "$RESET"; }
say() { printf '    %s\n' "$*"; }
fail() {
  printf 'demo: error: %s\n' "$*" >&2
  return 1
}

# step HEADING CMD...: print the heading, run CMD; a failure stops the demo (set -e), and the
# EXIT trap names the step.
CURRENT_STEP=""
step() {
  CURRENT_STEP=$1
  shift
  heading "$CURRENT_STEP"
  "$@"
  CURRENT_STEP=""
}

# k12ctl ARGS...: the freshly built binary on the demo database and storage. DATABASE_URL goes
# through the environment, never the command line.
k12ctl() {
  (cd -- "$WORK" && DATABASE_URL=$DEMO_DATABASE_URL "$K12CTL_BIN" "$@")
}
# psql on the demo cluster (connection from the PG* variables set by start_postgres).
psql_demo() {
  PGOPTIONS='-c client_min_messages=warning' "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 "$@"
}
testenv() { "$ROOT/scripts/testenv.sh" "$@"; }

finish() {
  local rc=$?
  trap - EXIT
  if [[ $rc -ne 0 ]]; then
    printf '\ndemo: FAILED%s (exit code %d)\n' "${CURRENT_STEP:+ at: $CURRENT_STEP}" "$rc" >&2
  fi
  if [[ $KEEP_DEMO == 1 ]]; then
    heading "K12CTL_KEEP_DEMO=1: PostgreSQL keeps running"
    say "connect: . target/demo-env/env (K12CTL_TEST_PG_URL); databases $SOURCE_DB, $RESTORED_DB"
    say "stop it: K12CTL_TESTENV_DIR=target/demo-env scripts/testenv.sh down"
  else
    heading "Stop PostgreSQL (scripts/testenv.sh down)"
    testenv down || {
      printf 'demo: warning: scripts/testenv.sh down failed\n' >&2
      [[ $rc -ne 0 ]] || rc=1
    }
  fi
  if [[ $rc -eq 0 ]]; then
    printf '\ndemo: done in %s; the backup stays in target/demo-backups/\n' "$(took "$T0")"
  fi
  exit "$rc"
}

# ---------------------------------------------------------------------------------------
# steps

start_postgres() {
  local url re='^postgres://([^:@/]+):([^@/]+)@([^:@/]+):([0-9]+)/'
  testenv up postgres
  # shellcheck source=/dev/null
  . "$K12CTL_TESTENV_DIR/env"
  url=$K12CTL_TEST_PG_URL
  PG_BINDIR=$K12CTL_TEST_PG_BINDIR
  [[ $url =~ $re ]] || fail "unexpected K12CTL_TEST_PG_URL in $K12CTL_TESTENV_DIR/env"
  export PGUSER=${BASH_REMATCH[1]} PGPASSWORD=${BASH_REMATCH[2]} PGHOST=${BASH_REMATCH[3]}
  export PGPORT=${BASH_REMATCH[4]} PGDATABASE=postgres PGCONNECT_TIMEOUT=10
  DEMO_DATABASE_URL=${url%/*}/$SOURCE_DB
  # k12ctl: pg_dump of the server's major version, no config file (and no ./.env).
  mkdir -p -- "$WORK"
  : >"$WORK/k12ctl.yaml"
  export K12CTL_PG_BINDIR=$PG_BINDIR K12CTL_CONFIG="$WORK/k12ctl.yaml"
}

build_k12ctl() {
  local out t0
  t0=$(now_ms)
  command -v "$CARGO_BIN" >/dev/null 2>&1 ||
    fail "cargo not found: install the Rust toolchain (https://rustup.rs)"
  # Diagnostics go to stderr as usual; stdout has the JSON messages naming the binary.
  out=$("$CARGO_BIN" build --release --locked --quiet --bin k12ctl \
    --message-format=json-render-diagnostics)
  K12CTL_BIN=$(sed -n 's/.*"executable":"\([^"]*\/k12ctl\)".*/\1/p' <<<"$out" | tail -n 1)
  [[ -n $K12CTL_BIN && -x $K12CTL_BIN ]] || fail "cargo build did not name the k12ctl binary"
  say "$K12CTL_BIN ($("$K12CTL_BIN" --version), cargo took $(took "$t0"))"
}

# recreate_db NAME: an empty database NAME (dropped first if an earlier run left it).
recreate_db() {
  psql_demo -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1"
}

# count_rows DB: "schema.table rows" for every table of DB, exact (count(*)), sorted.
count_rows() {
  psql_demo -d "$1" -A -t -F ' ' <<'SQL'
SELECT format('%s.%s', n.nspname, c.relname),
       (xpath('/row/n/text()',
              query_to_xml(format('SELECT count(*) AS n FROM %I.%I', n.nspname, c.relname),
                           false, true, '')))[1]::text::bigint
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_toast%'
ORDER BY 1;
SQL
}

# read_source_counts: every table's row count in k12_demo now, into SOURCE_COUNTS (compared
# with the backup's after k12ctl has backed it up), and a summary.
read_source_counts() {
  local counts table n total=0
  SOURCE_COUNTS=()
  counts=$(count_rows "$SOURCE_DB")
  while read -r table n; do
    [[ -n $table ]] || continue
    SOURCE_COUNTS[$table]=$n
    total=$((total + n))
  done <<<"$counts"
  say "$SOURCE_DB: ${SOURCE_COUNTS[public.tenants]} tenants, ${SOURCE_COUNTS[public.schools]} schools," \
    "${SOURCE_COUNTS[public.users]} users, ${SOURCE_COUNTS[public.courses]} courses," \
    "${SOURCE_COUNTS[public.enrollments]} enrollments ($total rows in ${#SOURCE_COUNTS[@]} tables)"
}

load_platform_schema() {
  [[ -r $PLATFORM_SCHEMA ]] || fail "the platform's schema is not at $PLATFORM_SCHEMA: set" \
    "K12CTL_PLATFORM_SCHEMA to a pg_dump --schema-only of the platform's database"
  recreate_db "$SOURCE_DB"
  psql_demo -d "$SOURCE_DB" -f "$PLATFORM_SCHEMA"
  say "loaded $(psql_demo -d "$SOURCE_DB" -A -t <<<"SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") tables from $PLATFORM_SCHEMA"
}

# The subdomains of $SCHOOLS_FILE (its `subdomain:` lines), into SCHOOLS; none may be taken in
# k12_demo, or provisioning would compare the demo's schools with the sample's and refuse.
provision_schools() {
  local taken
  mapfile -t SCHOOLS < <(sed -n 's/^[[:space:]-]*subdomain:[[:space:]]*["'\'']\{0,1\}\([a-z0-9-]*\).*/\1/p' \
    "$SCHOOLS_FILE")
  [[ ${#SCHOOLS[@]} -gt 0 ]] || fail "no subdomain found in $SCHOOLS_FILE"
  [[ " ${SCHOOLS[*]} " == *" $ROSTER_TENANT "* ]] || fail "$SCHOOLS_FILE has no school $ROSTER_TENANT"
  taken=$(psql_demo -d "$SOURCE_DB" -A -t -v subs="${SCHOOLS[*]}" \
    <<<"SELECT string_agg(slug, ', ' ORDER BY slug) FROM public.tenants
        WHERE slug = ANY (string_to_array(:'subs', ' '))")
  [[ -z $taken ]] || fail "$SOURCE_DB already has a tenant with the subdomain(s) $taken of $SCHOOLS_FILE"
  say "subdomains: ${SCHOOLS[*]} (none taken in $SOURCE_DB)"
  k12ctl provision school --file "$ROOT/$SCHOOLS_FILE"
}

# Provision the same file again: every school reported `already provisioned`, no row changed.
provision_again() {
  local before after out sub missing=()
  before=$(count_rows "$SOURCE_DB")
  # Captured, so that the table is never wrapped to a terminal's width, then shown.
  out=$(k12ctl provision school --file "$ROOT/$SCHOOLS_FILE") || {
    printf '%s\n' "$out"
    return 1
  }
  printf '%s\n' "$out"
  after=$(count_rows "$SOURCE_DB")
  for sub in "${SCHOOLS[@]}"; do
    grep -Eq "[[:space:]]${sub}[[:space:]].*already provisioned" <<<"$out" || missing+=("$sub")
  done
  [[ ${#missing[@]} -eq 0 ]] || fail "not reported as already provisioned: ${missing[*]}"
  [[ $before == "$after" ]] ||
    fail "the second run changed row counts: $(diff <(echo "$before") <(echo "$after") | grep '^[<>]' | tr '\n' ' ')"
  say "every school already provisioned; no table's row count changed"
}

# import_roster KIND: examples/roster/KIND.csv into the roster's school.
import_roster() {
  k12ctl import csv --tenant "$ROSTER_TENANT" --kind "$1" "$ROOT/$ROSTER_DIR/$1.csv"
}

# The onboarding checklist: every required item done, 80% (8 of the 10 items).
onboarding_status() {
  local json percent missing
  k12ctl provision status "$ROSTER_TENANT"
  json=$(k12ctl provision status "$ROSTER_TENANT" --output json)
  percent=$(jsonb_query "$json" "SELECT (:'json')::jsonb ->> 'completion_percentage'")
  missing=$(jsonb_query "$json" "SELECT string_agg(i ->> 'key', ', ') FROM jsonb_array_elements((:'json')::jsonb -> 'items') i WHERE (i ->> 'required')::boolean AND NOT (i ->> 'done')::boolean")
  [[ -z $missing ]] || fail "$ROSTER_TENANT's required onboarding items are not done: $missing"
  [[ $percent == 80 ]] || fail "$ROSTER_TENANT's onboarding is ${percent:-?}% complete, not 80%"
  say "onboarding of $ROSTER_TENANT: every required item done, 80% complete"
}

empty_storage() {
  rm -rf -- "$BACKUPS"
  mkdir -p -- "$BACKUPS"
  export K12CTL_STORAGE="file://$BACKUPS"
  say "K12CTL_STORAGE=$K12CTL_STORAGE"
}

# The newest backup's manifest (k12ctl's JSON output) and its file in the storage directory.
locate_backup() {
  local key
  MANIFEST_JSON=$(k12ctl backup show latest --output json)
  key=$(json_query "SELECT (:'json')::jsonb ->> 'object_key'")
  BACKUP_FILE="$BACKUPS/$key"
  [[ -f $BACKUP_FILE ]] || fail "the manifest names $key, but $BACKUP_FILE does not exist"
  say "backup:   $BACKUP_FILE ($(numfmt --to=iec-i --suffix=B --format=%.1f "$(stat -c %s -- "$BACKUP_FILE")"))"
  say "manifest: ${BACKUP_FILE%.dump.gz}.manifest.json"
  say "It is gzip around a pg_dump custom-format archive: stock PostgreSQL tools restore it"
  say "without k12ctl, into an empty database (pg_restore 15 or newer):"
  say "  createdb k12_restored"
  say "  gunzip -c $BACKUP_FILE | pg_restore --no-owner -d k12_restored"
  say "The next steps do exactly that, and check the result."
}

# jsonb_query JSON SQL: run SQL, in which :'json' is JSON, and print the result.
jsonb_query() {
  psql_demo -A -t -F ' ' -v json="$1" <<<"$2"
}
# json_query SQL: the same, :'json' being the manifest.
json_query() {
  jsonb_query "$MANIFEST_JSON" "$1"
}

restore_with_stock_tools() {
  recreate_db "$RESTORED_DB"
  say "\$ gunzip -c $BACKUP_FILE | pg_restore --no-owner --exit-on-error -d $RESTORED_DB"
  gunzip -c -- "$BACKUP_FILE" | "$PG_BINDIR/pg_restore" --no-owner --exit-on-error -d "$RESTORED_DB"
}

compare_row_counts() {
  local table n differ=0 mark src man rst manifest_counts restored_counts
  local -A manifest=() restored=() all=()
  manifest_counts=$(json_query \
    "SELECT key, value FROM jsonb_each_text((:'json')::jsonb -> 'table_row_counts') ORDER BY key")
  restored_counts=$(count_rows "$RESTORED_DB")
  while read -r table n; do [[ -z $table ]] || manifest[$table]=$n; done <<<"$manifest_counts"
  while read -r table n; do [[ -z $table ]] || restored[$table]=$n; done <<<"$restored_counts"
  for table in "${!SOURCE_COUNTS[@]}" "${!manifest[@]}" "${!restored[@]}"; do all[$table]=1; done
  printf '    %-28s %15s %10s %18s\n' TABLE "$SOURCE_DB" MANIFEST "$RESTORED_DB"
  while read -r table; do
    src=${SOURCE_COUNTS[$table]:--} man=${manifest[$table]:--} rst=${restored[$table]:--}
    if [[ $src == "$man" && $src == "$rst" ]]; then
      mark=""
    else
      mark="  <-- differs"
      differ=$((differ + 1))
    fi
    printf '    %-28s %15s %10s %18s%s\n' "$table" "$src" "$man" "$rst" "$mark"
  done < <(printf '%s\n' "${!all[@]}" | LC_ALL=C sort)
  [[ $differ -eq 0 ]] || fail "$differ table(s) differ between $SOURCE_DB, the manifest and $RESTORED_DB"
  say "every table has the same row count in $SOURCE_DB as backed up, the manifest and $RESTORED_DB"
  # Not compared with k12_demo as it is now: k12ctl recorded this run in backup_records, after
  # taking its snapshot.
  n=$(psql_demo -d "$SOURCE_DB" -A -t -c 'SELECT count(*) FROM public.backup_records')
  say "(k12ctl recorded this run in $SOURCE_DB.backup_records for the platform's admin pages, after"
  say "taking its snapshot: that table has $n rows now, the backup ${SOURCE_COUNTS[public.backup_records]})"
}

# check_counters DB: scripts/check-counters.sql on DB must return no rows.
check_counters() {
  local rows
  rows=$(psql_demo -d "$1" -A -t -F ' | ' -f scripts/check-counters.sql)
  if [[ -n $rows ]]; then
    printf '%s\n' "$rows" | sed 's/^/    /'
    fail "counter caches in $1 differ from the real counts (rows above)"
  fi
  say "no rows: every counter cache in $1 equals the real count"
}

restore_with_k12ctl() {
  psql_demo -c "DROP DATABASE IF EXISTS $COPY_DB WITH (FORCE)"
  # --yes: the demo runs without a terminal to type the confirmation at.
  k12ctl restore --latest --target "$COPY_DB" --create --yes
}

# A digest of one course of $ROSTER_TENANT with its sections and enrollments, ids included.
DELETED_COURSE="Algebra I"
COURSE_DIGEST=""
course_digest() {
  psql_demo -d "$SOURCE_DB" -A -t -v course="$DELETED_COURSE" -v tenant="$ROSTER_TENANT" <<'SQL'
SELECT md5(coalesce(string_agg(r, E'\n' ORDER BY r), '')) || ' ' || count(*)
FROM (
  SELECT format('course %s %s %s', c.id, c.name, c.enrollments_count) AS r
  FROM courses c JOIN tenants t ON t.id = c.tenant_id
  WHERE t.slug = :'tenant' AND c.name = :'course'
  UNION ALL
  SELECT format('section %s %s %s', s.id, s.course_id, s.name)
  FROM sections s JOIN courses c ON c.id = s.course_id JOIN tenants t ON t.id = c.tenant_id
  WHERE t.slug = :'tenant' AND c.name = :'course'
  UNION ALL
  SELECT format('enrollment %s %s %s %s', e.id, e.user_id, e.section_id, e.role)
  FROM enrollments e JOIN sections s ON s.id = e.section_id JOIN courses c ON c.id = s.course_id
  JOIN tenants t ON t.id = c.tenant_id
  WHERE t.slug = :'tenant' AND c.name = :'course'
) rows
SQL
}

delete_course() {
  COURSE_DIGEST=$(course_digest)
  say "$DELETED_COURSE of $ROSTER_TENANT now: ${COURSE_DIGEST#* } rows (the course, its sections and enrollments)"
  say "\$ psql -d $SOURCE_DB: DELETE the course's enrollments, sections and the course, in one transaction"
  psql_demo -d "$SOURCE_DB" -v course="$DELETED_COURSE" -v tenant="$ROSTER_TENANT" <<'SQL'
BEGIN;
CREATE TEMP TABLE gone ON COMMIT DROP AS
  SELECT c.id FROM courses c JOIN tenants t ON t.id = c.tenant_id
  WHERE t.slug = :'tenant' AND c.name = :'course';
DELETE FROM enrollments WHERE section_id IN (SELECT id FROM sections WHERE course_id IN (SELECT id FROM gone));
DELETE FROM sections WHERE course_id IN (SELECT id FROM gone);
DELETE FROM courses WHERE id IN (SELECT id FROM gone);
COMMIT;
SQL
  local now
  now=$(course_digest)
  [[ ${now#* } == 0 ]] || fail "$DELETED_COURSE still has ${now#* } rows after the delete"
  say "$DELETED_COURSE is gone from $SOURCE_DB; every other school is untouched"
}

merge_course_back() {
  # --yes: the demo runs without a terminal to type the subdomain at.
  k12ctl restore --tenant "$ROSTER_TENANT" --merge --target "$SOURCE_DB" --latest --yes
  local now
  now=$(course_digest)
  if [[ $now != "$COURSE_DIGEST" ]]; then
    fail "$DELETED_COURSE after the merge differs from before the delete ($now, was $COURSE_DIGEST)"
  fi
  say "$DELETED_COURSE is back: the same ${now#* } rows with the same ids and counter cache"
}

# ---------------------------------------------------------------------------------------
# the demo

# Signals end the script through `exit`, so that the EXIT trap stops PostgreSQL.
trap 'exit 130' INT
trap 'exit 143' TERM
trap finish EXIT

step "Empty the backup storage target/demo-backups/" empty_storage
step "Start a throwaway PostgreSQL 15 (scripts/testenv.sh up postgres)" start_postgres
step "Build k12ctl (cargo build --release --locked; the first build takes a few minutes)" build_k12ctl
step "Create $SOURCE_DB: the platform's real schema" load_platform_schema
step "Provision a new district's schools: k12ctl provision school --file $SCHOOLS_FILE" \
  provision_schools
step "Again, to show it is idempotent: k12ctl provision school --file $SCHOOLS_FILE" \
  provision_again
step "Import $ROSTER_TENANT's users: k12ctl import csv --tenant $ROSTER_TENANT --kind users $ROSTER_DIR/users.csv" \
  import_roster users
step "Import its courses and sections: k12ctl import csv ... --kind courses $ROSTER_DIR/courses.csv" \
  import_roster courses
step "Import its enrollments: k12ctl import csv ... --kind enrollments $ROSTER_DIR/enrollments.csv" \
  import_roster enrollments
step "The onboarding checklist: k12ctl provision status $ROSTER_TENANT (every required item done)" \
  onboarding_status
step "Check the counter caches of $SOURCE_DB (scripts/check-counters.sql)" check_counters "$SOURCE_DB"
step "Row counts of $SOURCE_DB now: what the backup must hold" read_source_counts
step "Back up $SOURCE_DB: k12ctl backup run" k12ctl backup run
step "The catalog: k12ctl backup list" k12ctl backup list
step "The newest backup's manifest: k12ctl backup show latest" k12ctl backup show latest
step "Where the backup is, and how to restore it without k12ctl" locate_backup
step "Restore it with stock tools into $RESTORED_DB" restore_with_stock_tools
step "Compare row counts: $SOURCE_DB before the backup, the manifest, $RESTORED_DB" compare_row_counts
step "Check the counter caches of $RESTORED_DB (scripts/check-counters.sql)" check_counters "$RESTORED_DB"
step "Prove it restores: k12ctl backup verify --latest (checksum, scratch restore, row counts)" \
  k12ctl backup verify --latest
step "Restore it with k12ctl into $COPY_DB: k12ctl restore --latest --target $COPY_DB --create" \
  restore_with_k12ctl
step "A teacher deletes a course: $DELETED_COURSE of $ROSTER_TENANT, with its sections and enrollments" \
  delete_course
step "What would come back: k12ctl restore --tenant $ROSTER_TENANT --merge --target $SOURCE_DB --latest --dry-run" \
  k12ctl restore --tenant "$ROSTER_TENANT" --merge --target "$SOURCE_DB" --latest --dry-run
step "Bring it back: k12ctl restore --tenant $ROSTER_TENANT --merge --target $SOURCE_DB --latest" \
  merge_course_back
step "Check the counter caches of $SOURCE_DB (scripts/check-counters.sql)" check_counters "$SOURCE_DB"
