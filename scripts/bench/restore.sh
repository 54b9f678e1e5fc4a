#!/usr/bin/env bash
# scripts/bench/restore.sh: the restore and verify benchmark of issue 3 ("Performance"), written
# into the `restore` section of docs/BENCHMARKS.md.
#
#   scripts/bench/restore.sh           full run on the >= 500 MB benchmark database
#   scripts/bench/restore.sh --quick   a trial of the script itself (a 30 MB database); its
#                                      figures say nothing about the targets
#
# What it does:
# 1. Builds k12ctl, brings up PostgreSQL 15 and Garage, and generates (or reuses, from a kept
#    environment) the benchmark database bench_<BENCH_MB>mb, all with scripts/bench/lib.sh,
#    as scripts/bench/backup.sh does: the same data as the backup benchmark.
# 2. Makes one `k12ctl backup run` of it into the bench bucket (untimed).
# 3. Checks under strace -f (untimed runs, which also warm up Garage, the page cache and the
#    programs) that `k12ctl restore` (streaming) and `k12ctl backup verify` write no local file.
# 4. Measures, side by side and interleaved (a, b, c, d, then again) BENCH_REPEAT times, each
#    restore going into a fresh database that is dropped afterwards (then CHECKPOINT, untimed):
#      (a) the platform's way: aws s3 cp s3://.../object file, then
#          gunzip -c file | pg_restore --no-owner -d DB (two phases; the file is deleted after)
#      (b) k12ctl restore --backup ID --target DB --create --yes (streaming)
#      (c) the same with --jobs 2 (a temporary file in --temp-dir, inside the run directory)
#      (d) k12ctl backup verify ID (scratch database created and dropped by k12ctl)
# 5. Prints a markdown section (medians, the issue's targets with a computed verdict each,
#    machine facts, the command that reproduces it) and writes it into BENCH_DOC between
#    <!-- restore:begin --> and <!-- restore:end -->, leaving the rest of the file alone.
#
# Settings (environment):
#   BENCH_MB=500                size of the database in MiB (--quick: 30)
#   BENCH_REPEAT=3              measurements per variant; the tables show medians
#   BENCH_DOC                   markdown file to update (default docs/BENCHMARKS.md)
#   K12CTL_BIN                  k12ctl binary to measure (default: cargo build --release)
#   K12CTL_KEEP_BENCH=1         keep the servers and databases up after the run
#   BENCH_ENV_DIR               state directory of the servers (default target/bench-env)
# Raw results, logs and the section stay in target/bench/restore-<UTC time>/.
#
# Measurement: wall time by the shell's clock around the whole variant (for (a), the sum of its
# two phases; its target database is created beforehand, untimed, while k12ctl's own CREATE
# DATABASE and row-count check are inside its time). Peak RSS by GNU time (%M) for every client
# process, reported as the largest of the variant's processes; for k12ctl the figure covers
# k12ctl and its pg_restore child (the larger of the two). Local disk: (a) the downloaded file;
# (c) the largest size of its temporary directory, sampled every 0.2 s during the run; (b), (d)
# what strace -f saw written. The PostgreSQL server and Garage are not counted.
set -euo pipefail

# shellcheck source=scripts/bench/lib.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
cd -- "$BENCH_ROOT"

SCRIPT_REL=scripts/bench/restore.sh
SECTION_NAME=restore
DEFAULT_MB=500
QUICK_MB=30
DEFAULT_REPEAT=3
JOBS=2

bench_args "$@"

bench_user_set BENCH_MB BENCH_REPEAT
if [[ $QUICK -eq 1 ]]; then MB=${BENCH_MB:-$QUICK_MB}; else MB=${BENCH_MB:-$DEFAULT_MB}; fi
REPEAT=${BENCH_REPEAT:-$DEFAULT_REPEAT}
[[ $REPEAT =~ ^[1-9][0-9]*$ ]] || die "BENCH_REPEAT must be a positive integer, not '$REPEAT'"
[[ $MB =~ ^[1-9][0-9]*$ && $MB -ge 20 ]] || die "BENCH_MB: '$MB' is not a size in MiB >= 20"

need_tools strace gzip gunzip awk sed sort stat find du

bench_init restore
RESULTS=$RUN_DIR/results.tsv
: >"$RESULTS"
bench_k12ctl
bench_env_up
PREFIX=bench/restore/$RUN_ID
bench_gen_dbs "$MB"
DB=$(db_name "$MB")
TEMP_DIR=$WORK/restore-tmp # --temp-dir of (c)
mkdir -p -- "$TEMP_DIR"

# k12 TAG ARGS...: k12ctl on the source database's server and the bench prefix, from K12_CWD,
# under GNU time ($TIMES/TAG.k12ctl); TAG "-": untimed
k12() {
  local tag=$1
  shift
  local -a timer=()
  if [[ $tag != - ]]; then timer=("$TIME_BIN" -f '%e %M' -o "$TIMES/$tag.k12ctl"); fi
  (cd -- "$K12_CWD" && "${K12_ENV[@]}" "DATABASE_URL=$(db_url_pw "$DB")" \
    "K12CTL_STORAGE=s3://$BUCKET/$PREFIX" "${timer[@]}" "$K12" --output json --no-progress "$@")
}
# drop_target DB: drop a restored database, then CHECKPOINT, so that the next variant does not
# pay for this one's dirty buffers (untimed)
drop_target() { psql_ postgres -c "DROP DATABASE IF EXISTS $1" -c "CHECKPOINT"; }
# counts DB: the row counts of the two big tables, to check that a restore is complete
counts() {
  psql_val "$1" "SELECT (SELECT count(*) FROM pgbench_accounts) || ' ' || (SELECT count(*) FROM lms_submissions)"
}

# ---------------------------------------------------------------------------------------
# the backup restored by every variant

log "k12ctl backup run of $DB into s3://$BUCKET/$PREFIX (untimed)"
T_BACKUP=$(now)
k12 - backup run >"$LOGS/backup.json" 2>"$LOGS/backup.log" || {
  tail -n 5 "$LOGS/backup.log" >&2
  die "k12ctl backup run failed; see $LOGS/backup.log"
}
BACKUP_SECONDS=$(elapsed "$T_BACKUP")
BACKUP_ID=$(json_str id "$LOGS/backup.json")
OBJECT_KEY=$PREFIX/$(json_str object_key "$LOGS/backup.json")
OBJECT_BYTES=$(json_num compressed_size "$LOGS/backup.json")
DUMP_BYTES=$(json_num uncompressed_size "$LOGS/backup.json")
[[ -n $BACKUP_ID && -n $OBJECT_BYTES && -n $DUMP_BYTES ]] || die "cannot read k12ctl's JSON report $LOGS/backup.json"
[[ $(object_size "$OBJECT_KEY") == "$OBJECT_BYTES" ]] ||
  die "s3://$BUCKET/$OBJECT_KEY is not the $OBJECT_BYTES-byte object k12ctl reported"
SOURCE_COUNTS=$(counts "$DB")
log "backup $BACKUP_ID: $(mib_b "$OBJECT_BYTES") stored, $(mib_b "$DUMP_BYTES") dumped, in $BACKUP_SECONDS s"

# ---------------------------------------------------------------------------------------
# strace checks (untimed; they double as the warm-up)

STRACE_TARGET=bench_restore_strace
drop_target "$STRACE_TARGET"
log "strace check: does k12ctl restore (streaming) write a local file?"
bench_local_writes restore pg_restore "${K12_ENV[@]}" "DATABASE_URL=$(db_url_pw "$DB")" \
  "K12CTL_STORAGE=s3://$BUCKET/$PREFIX" "$K12" --output json --no-progress \
  restore --backup "$BACKUP_ID" --target "$STRACE_TARGET" --create --yes
NOLOCAL_B=$LOCAL_WRITES
NOLOCAL_B_BYTES=$LOCAL_WRITE_BYTES
drop_target "$STRACE_TARGET"
log "strace check: does k12ctl backup verify write a local file?"
bench_local_writes verify pg_restore "${K12_ENV[@]}" "DATABASE_URL=$(db_url_pw "$DB")" \
  "K12CTL_STORAGE=s3://$BUCKET/$PREFIX" "$K12" --output json --no-progress backup verify "$BACKUP_ID"
NOLOCAL_D=$LOCAL_WRITES
NOLOCAL_D_BYTES=$LOCAL_WRITE_BYTES
aws_ s3 ls "s3://$BUCKET/$PREFIX/" >/dev/null # the AWS CLI started once

# ---------------------------------------------------------------------------------------
# measurements
#
# results.tsv: round, variant, wall s, peak RSS KiB (max of processes), per-process RSS
# (name=KiB,...), local bytes, restored bytes (k12ctl's report), phases (name=s,...)

record() {
  local IFS=$'\t'
  printf '%s\n' "$*" >>"$RESULTS"
}
max_of() { printf '%s\n' "$@" | sort -n | tail -n1; }

# (a) aws s3 cp s3://... file; gunzip -c file | pg_restore --no-owner -d DB
run_a() {
  local round=$1 tag=a-r$1 target=bench_restore_a file t0 t1 t2 local_bytes got
  file=$WORK/$BACKUP_ID.dump.gz
  drop_target "$target"
  psql_ postgres -c "CREATE DATABASE $target"
  t0=$(now)
  timed "$tag.aws" "${AWS_ENV[@]}" "$AWS_BIN" --endpoint-url "$S3_ENDPOINT" \
    s3 cp --only-show-errors "s3://$BUCKET/$OBJECT_KEY" "$file" 2>"$LOGS/$tag.aws.log" ||
    die "aws s3 cp failed ($tag); see $LOGS/$tag.aws.log"
  t1=$(now)
  timed "$tag.gunzip" gunzip -c "$file" |
    "${PG_ENV[@]}" "$TIME_BIN" -f '%e %M' -o "$TIMES/$tag.pg_restore" \
      "$PG_BINDIR/pg_restore" --no-owner -d "$(db_url "$target")" 2>"$LOGS/$tag.pg_restore.log" ||
    die "gunzip | pg_restore failed ($tag); see $LOGS/$tag.pg_restore.log"
  t2=$(now)
  local_bytes=$(stat -c %s -- "$file")
  rm -f -- "$file"
  got=$(counts "$target")
  [[ $got == "$SOURCE_COUNTS" ]] || die "(a) restored rows '$got', the source has '$SOURCE_COUNTS'"
  drop_target "$target"
  record "$round" a "$(elapsed "$t0" "$t2")" \
    "$(max_of "$(rss_of "$tag.aws")" "$(rss_of "$tag.gunzip")" "$(rss_of "$tag.pg_restore")")" \
    "aws=$(rss_of "$tag.aws"),gunzip=$(rss_of "$tag.gunzip"),pg_restore=$(rss_of "$tag.pg_restore")" \
    "$local_bytes" - "download=$(elapsed "$t0" "$t1"),gunzip+pg_restore=$(elapsed "$t1" "$t2")"
}

# sample_dir_size DIR OUT: every 0.2 s, the largest size of DIR seen so far (bytes, apparent)
# -> OUT; until killed, or until this script has exited
sample_dir_size() {
  local max=0 s
  while kill -0 "$$" 2>/dev/null; do
    s=$(du -sb -- "$1" 2>/dev/null | cut -f1) || s=0
    if [[ -n $s && $s -gt $max ]]; then
      max=$s
      printf '%s\n' "$max" >"$2"
    fi
    sleep 0.2
  done
}

# (b), (c) k12ctl restore [--jobs 2]
run_restore() {
  local round=$1 v=$2 tag=$2-r$1 target=bench_restore_$2 t0 wall json sampler="" local_bytes=0 empty
  json=$LOGS/$tag.json
  local -a args=(restore --backup "$BACKUP_ID" --target "$target" --create --yes)
  if [[ $v == c ]]; then args+=(--jobs "$JOBS" --temp-dir "$TEMP_DIR"); fi
  drop_target "$target"
  if [[ $v == c ]]; then
    empty=$(du -sb -- "$TEMP_DIR" | cut -f1)
    sample_dir_size "$TEMP_DIR" "$TIMES/$tag.tempdir" &
    sampler=$!
  fi
  t0=$(now)
  k12 "$tag" "${args[@]}" >"$json" 2>"$LOGS/$tag.log" ||
    die "k12ctl restore failed ($tag); see $LOGS/$tag.log"
  wall=$(elapsed "$t0")
  if [[ -n $sampler ]]; then
    kill "$sampler"
    wait "$sampler" || true
    local_bytes=$(($(cat "$TIMES/$tag.tempdir" 2>/dev/null || echo "$empty") - empty))
    [[ -z $(find "$TEMP_DIR" -mindepth 1 -print -quit) ]] ||
      die "k12ctl restore --jobs left files in $TEMP_DIR: $(find "$TEMP_DIR" -mindepth 1 | head -n3 | tr '\n' ' ')"
  fi
  grep -q '"row_counts_match": true' "$json" || die "k12ctl restore ($tag): row counts do not match; see $json"
  drop_target "$target"
  record "$round" "$v" "$wall" "$(rss_of_k12 "$tag")" "k12ctl+pg_restore=$(rss_of_k12 "$tag")" \
    "$local_bytes" "$(json_num restored_bytes "$json")" -
}
rss_of_k12() { rss_of "$1.k12ctl"; }

# (d) k12ctl backup verify ID
run_d() {
  local round=$1 tag=d-r$1 t0 wall json
  json=$LOGS/$tag.json
  t0=$(now)
  k12 "$tag" backup verify "$BACKUP_ID" >"$json" 2>"$LOGS/$tag.log" ||
    die "k12ctl backup verify failed ($tag); see $LOGS/$tag.log"
  wall=$(elapsed "$t0")
  [[ $(json_str status "$json") == verified ]] || die "k12ctl backup verify ($tag) did not verify; see $json"
  record "$round" d "$wall" "$(rss_of_k12 "$tag")" "k12ctl+pg_restore=$(rss_of_k12 "$tag")" 0 - -
}

T_MEASURE=$(now)
for ((round = 1; round <= REPEAT; round++)); do
  log "round $round/$REPEAT: (a) aws s3 cp + gunzip | pg_restore"
  run_a "$round"
  log "round $round/$REPEAT: (b) k12ctl restore"
  run_restore "$round" b
  log "round $round/$REPEAT: (c) k12ctl restore --jobs $JOBS"
  run_restore "$round" c
  log "round $round/$REPEAT: (d) k12ctl backup verify"
  run_d "$round"
done
MEASURE_TOTAL=$(elapsed "$T_MEASURE")
rm_prefix "$PREFIX"
bench_machine_facts

# ---------------------------------------------------------------------------------------
# aggregation

# col N VARIANT: column N of the variant's rows, one a line
col() { awk -F'\t' -v c="$1" -v v="$2" '$2 == v { print $c }' "$RESULTS"; }
# detail_median N VARIANT KEY: median of KEY in the "key=value,..." column N
detail_median() { col "$1" "$2" | tr ',' '\n' | sed -n "s/^$3=//p" | median; }

W_A=$(col 3 a | median)
W_B=$(col 3 b | median)
W_C=$(col 3 c | median)
W_D=$(col 3 d | median)
R_BA=$(calc "$W_B / $W_A")
R_CB=$(calc "$W_C / $W_B")
R_DB=$(calc "$W_D / $W_B")
RSS_BD_MAX=$(awk -F'\t' '$2 == "b" || $2 == "d" { print $4 }' "$RESULTS" | maximum)
N_BD=$(awk -F'\t' '$2 == "b" || $2 == "d"' "$RESULTS" | wc -l)
TOTAL=$(($(date +%s) - T_START))

# ---------------------------------------------------------------------------------------
# markdown

# strace_md WRITES: the strace finding, for a table cell
strace_md() {
  if [[ -z $1 ]]; then
    echo "strace -f: no file opened for writing, created, renamed or removed by k12ctl or pg_restore"
  else
    echo "strace -f: $(printf '%s' "$1" | head -n3 | tr '\n' ';' | sed 's/|/\\|/g')"
  fi
}

render() {
  local q='`'
  echo "## Restore and verify: \`k12ctl restore\` and \`k12ctl backup verify\` against the platform's way (issue 3)"
  echo
  echo "Written by \`$SCRIPT_REL\` on $(date -u '+%Y-%m-%d %H:%M UTC'); do not edit by hand. Reproduce with:"
  echo
  echo '```sh'
  echo "$REPRO"
  echo '```'
  echo
  if [[ $QUICK -eq 1 || ${DB_BYTES[$MB]} -lt $((500 * MIB)) ]]; then
    echo "> **Trial run** (\`--quick\` or a database below 500 MiB): it shows that the script works; the"
    echo "> issue's targets are defined on a database of at least 500 MB, so these verdicts do not count."
    echo
  fi
  bench_machine_md
  echo "Each figure is the median of $REPEAT run$([[ $REPEAT == 1 ]] || echo s); the variants ran interleaved (a, b, c, d, then"
  echo "again). The run took $(hms "$TOTAL") in all: $(hms "$GEN_TOTAL") generating the database, $(hms "$MEASURE_TOTAL") measuring."
  echo
  echo "The backup restored: \`$BACKUP_ID\`, one \`k12ctl backup run\` of $DB made by the run"
  echo "($(mib_b "$OBJECT_BYTES") stored, $(mib_b "$DUMP_BYTES") dumped, in $(f1 "$BACKUP_SECONDS") s)."
  echo
  echo "### Targets"
  echo
  echo "| Target (issue 3) | Measured | Verdict |"
  echo "|---|---|---|"
  echo "| database >= 500 MB | $(mib_b "${DB_BYTES[$MB]}") (pg_database_size) | $(verdict "${DB_BYTES[$MB]} >= 500 * $MIB") |"
  echo "| (b) wall time <= 0.9 x (a) | $(f1 "$W_B") s / $(f1 "$W_A") s = $(f2 "$R_BA") x | $(verdict "$R_BA <= 0.9") |"
  echo "| (b) writes no local file | $(strace_md "$NOLOCAL_B") | $(verdict "$NOLOCAL_B_BYTES == 0 && ${#NOLOCAL_B} == 0") |"
  echo "| (c) faster than (b) ($JOBS cores) | $(f1 "$W_C") s / $(f1 "$W_B") s = $(f2 "$R_CB") x | $(verdict "$R_CB < 1") |"
  echo "| (d) wall time <= 1.15 x (b) | $(f1 "$W_D") s / $(f1 "$W_B") s = $(f2 "$R_DB") x | $(verdict "$R_DB <= 1.15") |"
  echo "| peak RSS of (b) and (d) <= 100 MiB | $(mib_kib "$RSS_BD_MAX"), the largest of all $N_BD runs of (b) and (d) | $(verdict "$RSS_BD_MAX <= 100 * 1024") |"
  echo
  echo "Also checked (issue 3, not a performance target): (d) writes no local file either"
  echo "($(strace_md "$NOLOCAL_D")): $(verdict "$NOLOCAL_D_BYTES == 0 && ${#NOLOCAL_D} == 0"); (c) leaves its temporary"
  echo "directory empty after every run (the script stops otherwise); every restore has the source's row"
  echo "counts (k12ctl's \`row_counts_match\`; for (a), \`pgbench_accounts\` and \`lms_submissions\` counted)."
  echo
  echo "### Side by side on $DB ($(mib_b "${DB_BYTES[$MB]}"), object $(mib_b "$OBJECT_BYTES"), dump $(mib_b "$DUMP_BYTES"))"
  echo
  echo "| | Command | Wall time | vs (a) | vs (b) | Peak RSS | Local disk |"
  echo "|---|---|---|---|---|---|---|"
  local v w cmd detail procs localb p
  for v in a b c d; do
    detail=""
    case $v in
    a)
      cmd="${q}aws s3 cp s3://… file${q}, then ${q}gunzip -c file \\| pg_restore --no-owner -d DB${q}"
      w=$W_A
      detail=" ($(f1 "$(detail_median 8 a download)") s download, $(f1 "$(detail_median 8 a gunzip+pg_restore)") s restore)"
      procs=""
      for p in aws gunzip pg_restore; do procs+="$p $(mib_kib "$(detail_median 5 a "$p")"), "; done
      procs=${procs%, }
      localb=$(col 6 a | maximum)
      ;;
    b)
      cmd="${q}k12ctl restore --backup ID --target DB --create --yes${q}"
      w=$W_B
      procs="k12ctl or its pg_restore"
      localb=$NOLOCAL_B_BYTES
      ;;
    c)
      cmd="${q}k12ctl restore … --jobs $JOBS --temp-dir DIR${q}"
      w=$W_C
      procs="k12ctl or its pg_restore"
      localb=$(col 6 c | maximum)
      ;;
    d)
      cmd="${q}k12ctl backup verify ID${q}"
      w=$W_D
      procs="k12ctl or its pg_restore"
      localb=$NOLOCAL_D_BYTES
      ;;
    esac
    echo "| ($v) | $cmd | $(f1 "$w") s$detail | $(f2 "$(calc "$w / $W_A")") x | $(f2 "$(calc "$w / $W_B")") x | $(mib_kib "$(col 4 "$v" | median)") ($procs) | $(mib_b "$localb") |"
  done
  echo
  echo "Wall time: the shell's clock around the whole variant; for (a) the sum of its two phases, with"
  echo "the empty target created beforehand (untimed), whereas (b) and (c) include k12ctl's own"
  echo "CREATE DATABASE, the check of size, SHA-256 and gzip, and the row count of every table, and (d)"
  echo "creating, counting and dropping its scratch database and recording the verdict in the manifest."
  echo "Every restore goes into a new database, dropped afterwards (then CHECKPOINT, untimed)."
  echo "Peak RSS: the largest peak resident set of the variant's client processes (GNU time \`%M\` per"
  echo "process; for k12ctl, GNU time covers k12ctl and its pg_restore child, so the figure is the"
  echo "larger of the two); PostgreSQL's backend and Garage are not counted. Local disk: (a) the"
  echo "downloaded object, deleted after the restore; (c) the temporary file of \`--jobs\` (the"
  echo "decompressed archive), the largest size of its directory sampled every 0.2 s, deleted by"
  echo "k12ctl; (b) and (d) what strace saw written."
  echo
  echo "### Database"
  echo
  bench_dbs_md "$MB"
  echo
  echo "<details><summary>Every measurement</summary>"
  echo
  echo "| Round | Variant | Wall s | Peak RSS KiB | Per process KiB | Local bytes | Restored bytes (k12ctl) | Phases s |"
  echo "|---|---|---|---|---|---|---|---|"
  awk -F'\t' '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8 }' "$RESULTS"
  echo
  echo "</details>"
}

bench_publish
