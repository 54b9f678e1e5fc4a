# shellcheck shell=bash disable=SC2034 # what is set here is read by the scripts that source it
# scripts/bench/lib.sh: what the benchmark scripts of scripts/bench/ share. Sourced, not run.
#
#   bench_args "$@"           --quick (QUICK=1) and --help; bench_user_set VAR... (USER_SET)
#   bench_publish             render, print and write the script's section (last step)
#   bench_init NAME           run directory target/bench/NAME-<UTC time>/{logs,times,work}, traps
#   bench_env_up              PostgreSQL 15 + Garage via scripts/testenv.sh in BENCH_ENV_DIR
#                             (default target/bench-env); torn down at exit unless
#                             K12CTL_KEEP_BENCH=1
#   bench_pg_up               the same for PostgreSQL only (no S3 settings), for benchmarks that
#                             need no storage (import)
#   bench_k12ctl              cargo build --release (or K12CTL_BIN), copied into the run directory
#   bench_gen_dbs MB...       the benchmark databases bench_<MB>mb (kept ones are reused)
#   bench_machine_facts       machine, versions, load; bench_machine_md prints them as markdown
#   bench_write_section NAME FILE
#                             FILE between <!-- NAME:begin --> and <!-- NAME:end --> of BENCH_DOC
#   bench_local_writes LABEL PROGRAM CMD...
#                             what CMD writes to local files, under strace -f (untimed)
# plus helpers to time a process (timed, rss_of), aggregate (median, maximum) and format.
#
# The databases depend only on their size and GEN_VERSION, so every benchmark (backup, restore,
# encryption; import later) measures the same data, and a kept environment serves them all.

export LC_ALL=C
BENCH_ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)"
GEN_VERSION=1 # bump when the generated data changes, so that kept databases are regenerated
TIME_BIN=/usr/bin/time
MIB=1048576
DOC=${BENCH_DOC:-$BENCH_ROOT/docs/BENCHMARKS.md}
ENV_DIR=${BENCH_ENV_DIR:-$BENCH_ROOT/target/bench-env}
KEEP=${K12CTL_KEEP_BENCH:-0}

log() { printf 'bench: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}
now() { printf '%s' "$EPOCHREALTIME"; }
# elapsed T0 [T1]: seconds between two `now` values (T1 default: now), 3 decimals
elapsed() { awk -v a="$1" -v b="${2:-$EPOCHREALTIME}" 'BEGIN { printf "%.3f", b - a }'; }
# hms SECONDS: "4min 05s"
hms() {
  local s=${1%.*}
  if ((s >= 3600)); then
    printf '%dh %02dmin %02ds' $((s / 3600)) $((s % 3600 / 60)) $((s % 60))
  else
    printf '%dmin %02ds' $((s / 60)) $((s % 60))
  fi
}
need_tools() {
  local tool
  for tool in "$TIME_BIN" "$@"; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is needed (Debian: apt-get install time $*)"
  done
}

# bench_args ARGS...: the options every benchmark takes: --quick (sets QUICK=1: small sizes,
# one round, for trying the script) and -h/--help (the script's header comment).
bench_args() {
  QUICK=0
  while [[ $# -gt 0 ]]; do
    case $1 in
    --quick) QUICK=1 ;;
    -h | --help) bench_usage ;;
    *)
      log "unknown argument: $1"
      bench_usage
      ;;
    esac
    shift
  done
}
bench_usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2
  exit 2
}
# bench_user_set VAR...: which of these the caller set, in USER_SET (for the reproducing command)
bench_user_set() {
  local var
  USER_SET=()
  for var in "$@"; do
    if [[ -n ${!var:-} ]]; then USER_SET+=("$var"); fi
  done
}

# bench_publish: the end of every benchmark. Sets REPRO (the reproducing command: the
# variables of USER_SET, SCRIPT_REL, --quick), calls the script's `render` into
# RUN_DIR/SECTION_NAME.md, prints it and writes it into its section of BENCH_DOC.
bench_publish() {
  local var section=$RUN_DIR/$SECTION_NAME.md
  REPRO=""
  for var in "${USER_SET[@]}"; do REPRO+="$var=\"${!var}\" "; done
  REPRO+=$SCRIPT_REL
  if [[ $QUICK -eq 1 ]]; then REPRO+=" --quick"; fi
  render >"$section"
  cat -- "$section"
  bench_write_section "$SECTION_NAME" "$section"
  log "wrote the $SECTION_NAME section of $DOC ($(hms "$TOTAL")); raw results in $RESULTS"
}

# ---------------------------------------------------------------------------------------
# run directory, environment, k12ctl

# bench_init NAME: the run directory and the exit trap. Sets RUN_ID, RUN_DIR, LOGS, TIMES,
# WORK (local files of the measured commands; removed at exit), K12_CWD (k12ctl's working
# directory and HOME: must stay empty), T_START, LOAD_START.
bench_init() {
  RUN_ID=$(date -u +%Y%m%dT%H%M%SZ)
  RUN_DIR=$BENCH_ROOT/target/bench/$1-$RUN_ID
  LOGS=$RUN_DIR/logs
  TIMES=$RUN_DIR/times
  WORK=$RUN_DIR/work
  K12_CWD=$RUN_DIR/cwd
  mkdir -p -- "$LOGS" "$TIMES" "$WORK" "$K12_CWD"
  T_START=$(date +%s)
  LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
  trap bench_teardown EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  log "run directory: $RUN_DIR"
}

bench_teardown() {
  local rc=$?
  trap - EXIT INT TERM
  rm -rf -- "$WORK"
  rm -f -- "$RUN_DIR/k12ctl" # the copy measured (over 100 MB with debug info)
  if [[ $KEEP == 1 ]]; then
    log "K12CTL_KEEP_BENCH=1: servers and databases kept; stop them with K12CTL_TESTENV_DIR=$ENV_DIR scripts/testenv.sh down"
  elif [[ -d $ENV_DIR ]]; then
    K12CTL_TESTENV_DIR=$ENV_DIR "$BENCH_ROOT/scripts/testenv.sh" down ||
      log "warning: testenv.sh down failed"
  fi
  if [[ $rc -ne 0 ]]; then log "failed (exit $rc); logs and raw results in $RUN_DIR"; fi
  exit "$rc"
}

# testenv_up WHAT ARGS...: `scripts/testenv.sh ARGS` in ENV_DIR (an absolute state directory:
# testenv's Redis daemonizes into it and needs absolute paths), its env file loaded, and
# PG_BINDIR, PG_USER, PG_PASSWORD, PG_HOST, PG_PORT taken from it.
testenv_up() {
  local what=$1
  shift
  log "bringing up $what in $ENV_DIR"
  K12CTL_TESTENV_DIR=$ENV_DIR "$BENCH_ROOT/scripts/testenv.sh" "$@" 2>"$LOGS/testenv-up.log" ||
    die "scripts/testenv.sh $* failed; see $LOGS/testenv-up.log"
  # shellcheck disable=SC1091 # written by testenv.sh up
  . "$ENV_DIR/env"
  PG_BINDIR=$K12CTL_TEST_PG_BINDIR
  [[ $K12CTL_TEST_PG_URL =~ ^postgres://([^:@/]+):([^@/]*)@([^:/]+):([0-9]+)/ ]] ||
    die "unexpected K12CTL_TEST_PG_URL from testenv"
  PG_USER=${BASH_REMATCH[1]}
  PG_PASSWORD=${BASH_REMATCH[2]}
  PG_HOST=${BASH_REMATCH[3]}
  PG_PORT=${BASH_REMATCH[4]}
}

# bench_env_up: servers up, then PG_* and S3 settings, AWS_BIN, and the environments
# PG_ENV, PSQL_ENV, AWS_ENV, K12_ENV (arrays: `env -i NAME=VALUE...`) in which programs run.
bench_env_up() {
  testenv_up "PostgreSQL and Garage" up
  S3_ENDPOINT=$K12CTL_TEST_S3_ENDPOINT
  BUCKET=$K12CTL_TEST_S3_BUCKET

  # The AWS CLI: the real program, not a pyenv shim (whose start-up would be measured too).
  AWS_BIN=$(command -v aws 2>/dev/null || true)
  if [[ $AWS_BIN == */shims/aws ]] && command -v pyenv >/dev/null 2>&1; then
    AWS_BIN=$(pyenv which aws)
  fi
  if [[ -z $AWS_BIN ]]; then
    AWS_BIN=$(find "${XDG_CACHE_HOME:-$HOME/.cache}/k12ctl-testenv" -path '*/bin/aws' -type f 2>/dev/null | head -n1)
  fi
  [[ -n $AWS_BIN && -x $AWS_BIN ]] || die "aws CLI not found (scripts/testenv.sh up installs it)"

  local clean_path
  clean_path="$PG_BINDIR:$(dirname -- "$AWS_BIN"):/usr/local/bin:/usr/bin:/bin"
  # Every program runs with only these variables (the credentials are testenv's fixed test
  # key, valid only for this loopback Garage): nothing of the caller's AWS or k12ctl
  # configuration leaks in, and k12ctl finds no .env or config file.
  local -a common=("PATH=$clean_path" LANG=C.UTF-8 TZ=UTC)
  mkdir -p -- "$RUN_DIR/home"
  PG_ENV=(env -i "${common[@]}" "HOME=$RUN_DIR/home" "PGPASSWORD=$PG_PASSWORD" PGCONNECT_TIMEOUT=10)
  PSQL_ENV=("${PG_ENV[@]}" "PGOPTIONS=-c client_min_messages=warning")
  AWS_ENV=(env -i "${common[@]}" "HOME=$RUN_DIR/home" AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
    AWS_EC2_METADATA_DISABLED=true "AWS_ACCESS_KEY_ID=$K12CTL_TEST_S3_ACCESS_KEY_ID"
    "AWS_SECRET_ACCESS_KEY=$K12CTL_TEST_S3_SECRET_ACCESS_KEY"
    "AWS_DEFAULT_REGION=$K12CTL_TEST_S3_REGION"
    AWS_REQUEST_CHECKSUM_CALCULATION=when_required AWS_RESPONSE_CHECKSUM_VALIDATION=when_required)
  K12_ENV=(env -i "${common[@]}" "HOME=$K12_CWD" "XDG_CONFIG_HOME=$K12_CWD" AWS_CONFIG_FILE=/dev/null
    AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
    "AWS_ACCESS_KEY_ID=$K12CTL_TEST_S3_ACCESS_KEY_ID"
    "AWS_SECRET_ACCESS_KEY=$K12CTL_TEST_S3_SECRET_ACCESS_KEY"
    "BACKUP_S3_REGION=$K12CTL_TEST_S3_REGION" "K12CTL_S3_ENDPOINT=$S3_ENDPOINT"
    "K12CTL_PG_BINDIR=$PG_BINDIR" K12CTL_LOG=info)
  aws_ s3 ls "s3://$BUCKET/" >/dev/null || die "cannot list s3://$BUCKET with the AWS CLI"
}

# bench_pg_up: bench_env_up for PostgreSQL only (`scripts/testenv.sh up postgres`; where the
# environment already runs Garage too, testenv reuses it whole). Sets the PG_* settings and
# PG_ENV, PSQL_ENV and K12_ENV as bench_env_up does, without anything of S3 or the AWS CLI.
bench_pg_up() {
  testenv_up PostgreSQL up postgres

  local -a common=("PATH=$PG_BINDIR:/usr/local/bin:/usr/bin:/bin" LANG=C.UTF-8 TZ=UTC)
  mkdir -p -- "$RUN_DIR/home"
  PG_ENV=(env -i "${common[@]}" "HOME=$RUN_DIR/home" "PGPASSWORD=$PG_PASSWORD" PGCONNECT_TIMEOUT=10)
  PSQL_ENV=("${PG_ENV[@]}" "PGOPTIONS=-c client_min_messages=warning")
  # k12ctl finds no .env or config file and no AWS or k12ctl setting of the caller.
  K12_ENV=(env -i "${common[@]}" "HOME=$K12_CWD" "XDG_CONFIG_HOME=$K12_CWD" AWS_CONFIG_FILE=/dev/null
    AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
    "K12CTL_PG_BINDIR=$PG_BINDIR" K12CTL_LOG=info)
}

aws_() { "${AWS_ENV[@]}" "$AWS_BIN" --endpoint-url "$S3_ENDPOINT" "$@"; }
# object_size KEY: bytes of an object in the bucket
object_size() {
  aws_ s3api head-object --bucket "$BUCKET" --key "$1" --query ContentLength --output text
}
rm_prefix() { aws_ s3 rm --quiet --recursive "s3://$BUCKET/$1/" >/dev/null; }
db_url() { printf 'postgres://%s@%s:%s/%s' "$PG_USER" "$PG_HOST" "$PG_PORT" "$1"; }
db_url_pw() { printf 'postgres://%s:%s@%s:%s/%s' "$PG_USER" "$PG_PASSWORD" "$PG_HOST" "$PG_PORT" "$1"; }
psql_() {
  local db=$1
  shift
  "${PSQL_ENV[@]}" "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -d "$(db_url "$db")" "$@"
}
psql_val() { psql_ "$1" -A -t -c "$2"; }

# bench_k12ctl: K12 (the binary measured), K12_VERSION, K12_SRC, GIT_COMMIT. The binary is
# copied into the run directory, so that a rebuild during the run cannot change it.
bench_k12ctl() {
  local bin=${K12CTL_BIN:-}
  if [[ -n $bin ]]; then
    [[ -x $bin ]] || die "K12CTL_BIN=$bin is not an executable"
    # The commit below is the checkout's HEAD at the run, not necessarily the binary's source.
    K12_SRC="K12CTL_BIN=$bin, built $(date -u -r "$bin" '+%Y-%m-%d %H:%M UTC')"
  else
    log "cargo build --release --locked --bin k12ctl (log: $LOGS/cargo-build.log)"
    (cd -- "$BENCH_ROOT" && cargo build --release --locked --bin k12ctl) >"$LOGS/cargo-build.log" 2>&1 ||
      die "cargo build failed (see $LOGS/cargo-build.log); set K12CTL_BIN to measure an existing binary"
    bin=$BENCH_ROOT/target/release/k12ctl
    K12_SRC="cargo build --release"
  fi
  cp -- "$bin" "$RUN_DIR/k12ctl"
  K12=$RUN_DIR/k12ctl
  K12_VERSION=$("$K12" --version)
  GIT_COMMIT=$(git -C "$BENCH_ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
  if [[ -n $(git -C "$BENCH_ROOT" status --porcelain -- src Cargo.toml Cargo.lock build.rs 2>/dev/null) ]]; then
    GIT_COMMIT="$GIT_COMMIT + uncommitted changes in src/ or Cargo.*"
  fi
}

# ---------------------------------------------------------------------------------------
# benchmark databases: pgbench tables (about 40% of the size) plus lms_submissions

# Vocabulary: function words first, so that the skewed draw makes them the most frequent.
VOCAB=(the and to of a in is for that on with as are it this be by from at or an was we they
  their our about which when how each more can will not also into between after before
  student students teacher class lesson assignment homework quiz exam grade rubric feedback
  reading writing math science history geography biology chemistry physics algebra geometry
  fractions decimals equation variable graph chart experiment hypothesis observation
  conclusion evidence paragraph essay sentence vocabulary grammar spelling punctuation summary
  chapter novel poem author character setting plot theme argument source citation research
  project presentation group partner discussion question answer explain describe compare
  contrast analyze evaluate calculate measure estimate predict identify solve practice review
  revise draft submit complete understand learn improve focus attention participation
  attendance schedule semester quarter term unit module objective standard skill concept
  strategy example problem solution method result data table map timeline ecosystem energy
  force motion cell organism planet weather climate water plant animal habitat volcano
  earthquake atom molecule reaction circuit magnet light sound government constitution
  election citizen community culture economy trade revolution empire colony democracy
  president river mountain continent ocean country city library classroom cafeteria gym music
  art drawing painting choir band theater sports team coach field trip museum principal
  counselor parent guardian family conference report card progress goal growth mindset effort
  careful clear correct incorrect creative detailed strong weak excellent good great needs work
  missing late early on-time extra credit points score percent average total first second
  third final next previous new important interesting difficult easy simple complex main key
  central supporting reader notebook pencil calculator laptop chromebook tablet website video
  worksheet textbook handout slide folder portfolio journal log reflection peer small whole
  independent guided shared daily weekly monthly morning afternoon recess lunch bus hallway
  safety kindness respect responsibility honesty teamwork leadership curiosity patience
  listening speaking thinking solving building designing coding robot program algorithm loop
  pattern number multiply divide add subtract area perimeter volume angle triangle rectangle
  circle ratio rate probability statistics mean median mode range)
N_FUNCTION_WORDS=40

# The rows of lms_submissions, inserted in batches until pg_database_size reaches the target.
# Every value is a function of the row id through hashint8: deterministic, no random().
# Rows stay under ~2 kB, so that TOAST does not compress them behind pg_database_size's back.
GEN_SQL_TEMPLATE=$(
  cat <<'SQL'
CREATE TABLE lms_submissions (
  id            bigint PRIMARY KEY,
  tenant_id     integer NOT NULL,
  school_id     integer NOT NULL,
  course_id     integer NOT NULL,
  assignment_id integer NOT NULL,
  student_id    uuid NOT NULL,
  title         text NOT NULL,
  body          text NOT NULL,
  feedback      text,
  payload       jsonb NOT NULL,
  submitted_at  timestamptz NOT NULL,
  graded_at     timestamptz
);
DO $gen$
DECLARE
  target  bigint := @TARGET_BYTES@;
  w       text[] := '@VOCAB@'::text[];
  nv      integer := cardinality(w);
  nf      integer := @NFUNC@;
  lo      bigint := 1;
  n       bigint;
  sz      bigint;
  per_row numeric := 1200;
BEGIN
  LOOP
    sz := pg_database_size(current_database());
    EXIT WHEN sz >= target;
    n := least(50000, greatest(2000, ceil((target - sz) / per_row)))::bigint;
    INSERT INTO lms_submissions
    SELECT g,
      1 + (h1 & 15),
      1 + ((h1 >> 4) & 255),
      1 + ((h1 >> 12) & 4095),
      1 + (h2 & 1048575),
      md5('student:' || ((h2 >> 12) & 65535))::uuid,
      initcap((SELECT string_agg(w[nf + 1 + (x.h & 2147483647) % (nv - nf)], ' ')
                 FROM (SELECT hashint8(g * 1024 + 200 + k) AS h
                         FROM generate_series(1, 3 + (h3 & 3)) k) x)),
      (SELECT string_agg(w[1 + ((((x.h & 65535)::bigint * (x.h & 65535)) * nv) >> 32)::integer]
                         || CASE WHEN ((x.h >> 20) & 15) = 0 THEN '.' ELSE '' END, ' ')
         FROM (SELECT hashint8(g * 1024 + k) AS h
                 FROM generate_series(1, 30 + ((h3 >> 2) & 127) % 100) k) x),
      CASE WHEN ((h4 >> 4) & 3) <> 0 THEN
        (SELECT string_agg(w[1 + ((((x.h & 65535)::bigint * (x.h & 65535)) * nv) >> 32)::integer], ' ')
           FROM (SELECT hashint8(g * 1024 + 300 + k) AS h
                   FROM generate_series(1, 1 + ((h4 >> 8) & 31)) k) x)
      END,
      jsonb_build_object(
        'attempt', 1 + (h4 & 3),
        'status', (ARRAY['submitted', 'graded', 'returned', 'resubmitted'])[1 + ((h4 >> 2) & 3)],
        'score', jsonb_build_object('raw', (h5 & 2147483647) % 101, 'max', 100,
                                    'percent', round(((h5 >> 8) & 1023) / 10.23, 2)),
        'rubric', jsonb_build_array(
          jsonb_build_object('criterion', w[nf + 1 + (h6 & 2147483647) % (nv - nf)],
                             'points', (h6 >> 8) & 7, 'max', 8),
          jsonb_build_object('criterion', w[nf + 1 + (h7 & 2147483647) % (nv - nf)],
                             'points', (h7 >> 8) & 7, 'max', 8),
          jsonb_build_object('criterion', w[nf + 1 + (h8 & 2147483647) % (nv - nf)],
                             'points', (h8 >> 8) & 3, 'max', 4)),
        'grader_id', md5('grader:' || ((h8 >> 12) & 1023))::uuid,
        'submission_uuid', md5('submission:' || g)::uuid,
        'client', jsonb_build_object(
          'device', (ARRAY['chromebook', 'ipad', 'windows', 'macos', 'android', 'linux'])[1 + (h9 & 2147483647) % 6],
          'app_version', '4.' || ((h9 >> 4) & 15) || '.' || ((h9 >> 8) & 31),
          'ip', '10.' || ((h9 >> 13) & 255) || '.' || ((h9 >> 21) & 255) || '.' || (h10 & 255)),
        'late', ((h10 >> 8) & 7) = 0,
        'time_spent_s', (h10 & 2147483647) % 7200,
        'due_at', ts + make_interval(days => (h10 >> 12) & 7)),
      ts,
      CASE WHEN ((h4 >> 4) & 3) <> 0 THEN ts + make_interval(secs => (h5 >> 4) & 1048575) END
    FROM generate_series(lo, lo + n - 1) g,
      LATERAL (SELECT hashint8(g * 1024 + 1001) h1, hashint8(g * 1024 + 1002) h2,
                      hashint8(g * 1024 + 1003) h3, hashint8(g * 1024 + 1004) h4,
                      hashint8(g * 1024 + 1005) h5, hashint8(g * 1024 + 1006) h6,
                      hashint8(g * 1024 + 1007) h7, hashint8(g * 1024 + 1008) h8,
                      hashint8(g * 1024 + 1009) h9, hashint8(g * 1024 + 1010) h10,
                      timestamptz '2025-08-18 07:30:00+00'
                        + make_interval(secs => (hashint8(g * 1024 + 1011) & 2147483647) % 25920000) ts) hh;
    lo := lo + n;
    per_row := greatest(200, (pg_database_size(current_database()) - sz)::numeric / n);
  END LOOP;
END
$gen$;
VACUUM (ANALYZE) lms_submissions;
CHECKPOINT;
SQL
)

db_name() { printf 'bench_%smb' "$1"; }
db_tag() { printf 'k12ctl-bench gen=%s target_mb=%s' "$GEN_VERSION" "$1"; }
pgbench_scale() { awk -v t="$1" 'BEGIN { s = int(t * 0.4 / 15 + 0.5); print (s < 1 ? 1 : s) }'; }

# gen_db MB: bench_<MB>mb, unless it exists with this generator's tag (COMMENT ON DATABASE,
# set only once generation has completed).
gen_db() {
  local mb=$1 db tag have scale t0 sql vocab_lit
  db=$(db_name "$mb")
  tag=$(db_tag "$mb")
  have=$(psql_val postgres "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '$db'")
  if [[ $have == "$tag" ]]; then
    log "database $db: reusing ($tag)"
    GEN_SECONDS[$mb]=reused
    return 0
  fi
  t0=$(now)
  scale=$(pgbench_scale "$mb")
  log "database $db: generating ~$mb MiB (pgbench -s $scale, then lms_submissions)"
  psql_ postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
  "${PSQL_ENV[@]}" "$PG_BINDIR/pgbench" -i -q -s "$scale" -I dtGvp -h "$PG_HOST" -p "$PG_PORT" \
    -U "$PG_USER" "$db" >"$LOGS/pgbench-$db.log" 2>&1 ||
    die "pgbench -i failed; see $LOGS/pgbench-$db.log"
  vocab_lit="{$(
    IFS=,
    printf '%s' "${VOCAB[*]}"
  )}"
  sql=${GEN_SQL_TEMPLATE//@TARGET_BYTES@/$((mb * MIB))}
  sql=${sql//@VOCAB@/$vocab_lit}
  sql=${sql//@NFUNC@/$N_FUNCTION_WORDS}
  psql_ "$db" -f - <<<"$sql" >"$LOGS/generate-$db.log" 2>&1 || {
    tail -n 20 "$LOGS/generate-$db.log" >&2
    die "generating $db failed"
  }
  psql_ postgres -c "COMMENT ON DATABASE $db IS '$tag'"
  GEN_SECONDS[$mb]=$(elapsed "$t0")
  log "database $db: $(psql_val postgres "SELECT pg_size_pretty(pg_database_size('$db'))") in ${GEN_SECONDS[$mb]} s"
}

# bench_gen_dbs MB...: generate (or reuse) bench_<MB>mb for every size. Sets GEN_SECONDS[MB]
# ("reused" when kept), GEN_TOTAL, and the facts DB_BYTES, DB_SCALE, DB_ACCOUNTS,
# DB_SUBMISSIONS (indexed by MB).
declare -gA GEN_SECONDS=() DB_BYTES=() DB_SCALE=() DB_ACCOUNTS=() DB_SUBMISSIONS=()
bench_gen_dbs() {
  local t0 mb db
  t0=$(now)
  for mb in "$@"; do gen_db "$mb"; done
  GEN_TOTAL=$(elapsed "$t0")
  for mb in "$@"; do
    db=$(db_name "$mb")
    DB_BYTES[$mb]=$(psql_val "$db" "SELECT pg_database_size(current_database())")
    DB_ACCOUNTS[$mb]=$(psql_val "$db" "SELECT count(*) FROM pgbench_accounts")
    DB_SCALE[$mb]=$((DB_ACCOUNTS[$mb] / 100000))
    DB_SUBMISSIONS[$mb]=$(psql_val "$db" "SELECT count(*) FROM lms_submissions")
  done
}

# bench_dbs_md MB...: the databases as a markdown table, with how they are made
bench_dbs_md() {
  local mb g
  echo "pgbench tables (\`pgbench -i -s N\`) plus \`lms_submissions\`: school-domain text drawn from a"
  echo "vocabulary of ${#VOCAB[@]} words by hashint8 (skewed towards frequent words), jsonb with numbers,"
  echo "uuids and nested objects, timestamps; normal logged tables, deterministic (no random()),"
  echo "generator version $GEN_VERSION (\`scripts/bench/lib.sh\`)."
  echo
  echo "| Database | pg_database_size | pgbench scale | pgbench_accounts rows | lms_submissions rows | Generated in |"
  echo "|---|---|---|---|---|---|"
  for mb in "$@"; do
    g=${GEN_SECONDS[$mb]}
    if [[ $g != reused ]]; then g="$(f1 "$g") s"; else g="(kept from an earlier run)"; fi
    echo "| $(db_name "$mb") | $(mib_b "${DB_BYTES[$mb]}") | ${DB_SCALE[$mb]} | ${DB_ACCOUNTS[$mb]} | ${DB_SUBMISSIONS[$mb]} | $g |"
  done
}

# ---------------------------------------------------------------------------------------
# measuring

# timed NAME CMD...: run CMD under GNU time; "elapsed_s maxrss_kib" goes to $TIMES/NAME.
# GNU time reports a process's peak RSS and, for the children it waited for, theirs when
# larger: for a program that runs a child (k12ctl and its pg_dump), the larger of the two.
timed() {
  local name=$1
  shift
  "$TIME_BIN" -f '%e %M' -o "$TIMES/$name" "$@"
}
# rss_of NAME: peak RSS in KiB recorded by `timed NAME` (the last line: GNU time prepends a
# line when the command failed).
rss_of() { tail -n 1 "$TIMES/$1" | cut -d' ' -f2; }
# json_num FIELD FILE: a top-level number of a k12ctl JSON report
json_num() { sed -n "s/^  \"$1\": \\([0-9][0-9]*\\),\\{0,1\\}\$/\\1/p" "$2" | head -n1; }
# json_str FIELD FILE: a top-level string of a k12ctl JSON report (no escapes expected)
json_str() { sed -n "s/^  \"$1\": \"\\([^\"\\\\]*\\)\",\\{0,1\\}\$/\\1/p" "$2" | head -n1; }

# bench_local_writes LABEL PROGRAM CMD...: run CMD once, untimed, from K12_CWD under strace -f
# (--seccomp-bpf: only the listed calls stop it), and list what it and its children wrote
# locally: every open/creat with a write flag and every call that makes, renames or removes a
# path (/dev/null and terminals do not count), plus anything left in K12_CWD. PROGRAM (a basename) must appear in an execve of the trace, proof
# that strace followed CMD's children. Dies when CMD fails. Sets LOCAL_WRITES (the calls, one a
# line, "" when none) and LOCAL_WRITE_BYTES (sizes of the files named there that still exist).
# CMD's stdout goes to $LOGS/strace-LABEL.out, its stderr to .stderr, the trace to .log.
bench_local_writes() {
  local label=$1 program=$2 trace=$LOGS/strace-$1.log hits f
  shift 2
  LOCAL_WRITES=""
  LOCAL_WRITE_BYTES=0
  (cd -- "$K12_CWD" && strace -f --seccomp-bpf -qq -o "$trace" \
    -e trace=execve,open,openat,openat2,creat,mkdir,mkdirat,rename,renameat,renameat2,link,linkat,symlink,symlinkat,truncate,unlink,unlinkat \
    "$@") >"$LOGS/strace-$label.out" 2>"$LOGS/strace-$label.stderr" ||
    die "$label under strace failed; see $LOGS/strace-$label.stderr"
  grep -q -E "execve\(\"[^\"]*/$program\"" "$trace" ||
    die "strace check $label: no $program started under strace -f (see $trace); cannot tell"
  hits=$(grep -E '(open|openat|openat2)\(.*(O_WRONLY|O_RDWR|O_CREAT|O_TRUNC)|(creat|mkdir|mkdirat|rename|renameat|renameat2|link|linkat|symlink|symlinkat|truncate|unlink|unlinkat)\(' "$trace" |
    grep -v -E '= -1 |"/dev/(null|tty|pts/[0-9]+)"' || true)
  if [[ -n $(find "$K12_CWD" -mindepth 1 -print -quit) ]]; then
    hits+=$'\n'"files left in k12ctl's working directory: $(find "$K12_CWD" -mindepth 1 | tr '\n' ' ')"
  fi
  if [[ -n $hits ]]; then
    LOCAL_WRITES=$(printf '%s\n' "$hits" | sed -E 's/^[0-9]+ +//' | cut -c1-160 | sort -u | head -n 20)
    while IFS= read -r f; do
      if [[ -f $f ]]; then LOCAL_WRITE_BYTES=$((LOCAL_WRITE_BYTES + $(stat -c %s -- "$f"))); fi
    done < <(grep -o -E '"/[^"]+"' <<<"$hits" | tr -d '"' | sort -u)
    log "$label wrote local files:"
    printf '%s\n' "$LOCAL_WRITES" | sed 's/^/bench:   /' >&2
  fi
}

# median, maximum: of the numbers on stdin ("nan" when there are none)
median() {
  { grep -E '^[0-9.]+$' || true; } | sort -g | awk '{ a[NR] = $1 } END {
    if (NR == 0) { print "nan"; exit }
    if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
maximum() { { grep -E '^[0-9.]+$' || true; } | sort -g | awk 'END { print (NR ? $1 : "nan") }'; }
calc() { awk "BEGIN { printf \"%s\", $1 }"; }
f1() { awk -v x="$1" 'BEGIN { printf "%.1f", x }'; }
f2() { awk -v x="$1" 'BEGIN { printf "%.2f", x }'; }
pct() { awk -v x="$1" 'BEGIN { printf "%+.0f%%", x * 100 }'; }
mib_kib() { awk -v x="$1" 'BEGIN { printf "%.1f MiB", x / 1024 }'; }
mib_b() { awk -v x="$1" 'BEGIN { printf "%.1f MiB", x / 1048576 }'; }
# verdict AWK-CONDITION: "met" or "**not met**", computed
verdict() { if awk "BEGIN { exit !($1) }"; then printf 'met'; else printf '**not met**'; fi; }

# ---------------------------------------------------------------------------------------
# reporting

bench_machine_facts() {
  NPROC=$(nproc)
  CPU_MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
  MEM_GIB=$(awk '/^MemTotal:/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)
  PG_VERSION=$(psql_val postgres "SHOW server_version")
  PG_DUMP_VERSION=$("$PG_BINDIR/pg_dump" --version | sed 's/^pg_dump (PostgreSQL) //')
  GARAGE_VERSION=""
  AWS_VERSION=""
  if [[ -n ${AWS_BIN:-} ]]; then # set by bench_env_up, not by bench_pg_up (no Garage, no AWS CLI)
    GARAGE_VERSION=$("$K12CTL_TEST_GARAGE_BIN" --version 2>/dev/null | grep -o -E '[0-9]+\.[0-9]+\.[0-9]+' | head -n1)
    AWS_VERSION=$("$AWS_BIN" --version 2>&1 | cut -d' ' -f1)
  fi
  GZIP_VERSION=$(gzip --version | head -n1)
  LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
}

# bench_machine_md: the machine and the versions measured, one paragraph
bench_machine_md() {
  echo "Machine: $NPROC cores ($CPU_MODEL), $MEM_GIB GiB RAM, Linux $(uname -r); load average"
  echo "$LOAD_START at the start, $LOAD_END at the end of the run (1, 5, 15 min). PostgreSQL server"
  if [[ -n $GARAGE_VERSION || -n $AWS_VERSION ]]; then
    echo "$PG_VERSION, pg_dump $PG_DUMP_VERSION, Garage $GARAGE_VERSION and $AWS_VERSION on the same"
    echo "machine, over loopback; $GZIP_VERSION. k12ctl: \`$K12_VERSION\`, commit $GIT_COMMIT ($K12_SRC)."
  else # bench_pg_up: no Garage, no AWS CLI
    echo "$PG_VERSION on the same machine, over loopback. k12ctl: \`$K12_VERSION\`, commit"
    echo "$GIT_COMMIT ($K12_SRC)."
  fi
}

# bench_write_section NAME FILE: FILE replaces what is between <!-- NAME:begin --> and
# <!-- NAME:end --> in BENCH_DOC (appended with its markers when they are missing); the rest
# of the document is left alone.
bench_write_section() {
  local name=$1 section=$2 begin end tmp
  begin="<!-- $name:begin -->"
  end="<!-- $name:end -->"
  mkdir -p -- "$(dirname -- "$DOC")"
  if [[ ! -f $DOC ]]; then
    cat >"$DOC" <<'DOC'
# Benchmarks

Measured speed and memory of k12ctl. Every section is written by the script it names, between
its `<!-- NAME:begin -->` and `<!-- NAME:end -->` markers, with the command that reproduces it;
the verdicts against the issues' targets are computed by the scripts, never written by hand.
DOC
  fi
  tmp=$DOC.tmp.$$
  if grep -qxF "$begin" "$DOC" && grep -qxF "$end" "$DOC"; then
    awk -v b="$begin" -v e="$end" -v f="$section" '
      $0 == b { print; while ((getline line < f) > 0) print line; skip = 1; next }
      $0 == e { skip = 0 }
      !skip { print }' "$DOC" >"$tmp"
  else
    {
      cat -- "$DOC"
      printf '\n%s\n' "$begin"
      cat -- "$section"
      printf '%s\n' "$end"
    } >"$tmp"
  fi
  mv -f -- "$tmp" "$DOC"
}
