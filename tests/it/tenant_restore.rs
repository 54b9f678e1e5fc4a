//! `restore --tenant`: one school out of a full backup, on the platform's
//! real schema with two schools onboarded through k12ctl itself. A merge
//! brings back exactly the rows deleted since the backup, with their ids,
//! and leaves the other school byte for byte; conflicts, dry runs and
//! refusals write nothing; an extract holds only that school.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::process::{Command, Output, Stdio};

use crate::common::*;

const NEWEST: &str = "2026-03-07";

/// A school's roster, in the platform's CSV formats.
fn users(domain: &str) -> String {
    format!(
        "email,first_name,last_name,role\n\
         tina.teach@{domain},Tina,Teach,teacher\n\
         sam.stu@{domain},Sam,\"Stu, Jr.\",student\n\
         ana.stu@{domain},Ana,Ruiz,student\n\
         zoe@{domain},,,\n"
    )
}
const COURSES: &str = "name,description,section_name\n\
                       Algebra I,Linear equations,Period 1\n\
                       Algebra I,,Period 2\n\
                       Biology,,Lab A\n\
                       Art History,,\n";
fn enrollments(domain: &str) -> String {
    format!(
        "email,section_name,role\n\
         tina.teach@{domain},Period 1,teacher\n\
         sam.stu@{domain},Period 1,student\n\
         ana.stu@{domain},Period 1,student\n\
         zoe@{domain},Period 2,\n\
         ana.stu@{domain},Period 2,student\n\
         sam.stu@{domain},Lab A,student\n"
    )
}

pub(crate) struct Fixture {
    pub(crate) env: Env,
    pub(crate) server: PgServer,
    pub(crate) db: TestDb,
    pub(crate) prefix: S3Prefix,
}

impl Fixture {
    fn k12(&self) -> Command {
        k12ctl_on(&self.env, &self.server, &self.db, &self.prefix)
    }

    fn import(&self, slug: &str, kind: &str, csv: &str) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(format!("{kind}.csv"));
        std::fs::write(&file, csv).unwrap();
        let out = run(self
            .k12()
            .args(["import", "csv", "--tenant", slug, "--kind", kind])
            .arg(&file));
        assert_code(&out, 0);
    }

    fn id(&self, sql: &str) -> i64 {
        let text = self.db.sql(sql);
        text.parse()
            .unwrap_or_else(|_| panic!("{sql} gave {text:?}"))
    }

    /// `restore --tenant SLUG --latest --target DB` plus `extra`, off a terminal.
    pub(crate) fn restore(&self, slug: &str, target: &str, extra: &[&str]) -> Output {
        run(self
            .k12()
            .args(["--output", "json", "restore", "--tenant", slug, "--latest"])
            .args(["--target", target])
            .args(extra))
    }

    pub(crate) fn backup(&self, extra: &[&str]) {
        let out = run(self.k12().args(["backup", "run"]).args(extra));
        assert_code(&out, 0);
    }
}

/// Two schools in their own districts, each with its roster.
pub(crate) fn two_schools(server_name: &str, hint: &str, date: &str) -> Fixture {
    let env = env();
    let server = pg_server(&env, server_name);
    let db = TestDb::platform_on(&server, hint, date);
    let prefix = S3Prefix::new(hint);
    let f = Fixture {
        env,
        server,
        db,
        prefix,
    };
    for (slug, district) in [("maple", "larkspur"), ("birch", "oakdale")] {
        let domain = format!("{slug}.example.org");
        let out = run(f.k12().args([
            "provision",
            "school",
            "--name",
            &format!("{slug} High"),
            "--subdomain",
            slug,
            "--admin-email",
            &format!("pat@{domain}"),
            "--admin-first-name",
            "Pat",
            "--admin-last-name",
            "O'Malley",
            "--district",
            district,
            "--create-district",
            &format!("{district} Unified"),
            "--timezone",
            "America/Chicago",
            "--academic-year-start",
            "2026-08-17",
        ]));
        assert_code(&out, 0);
        f.import(slug, "users", &users(&domain));
        f.import(slug, "courses", COURSES);
        f.import(slug, "enrollments", &enrollments(&domain));
    }
    crate::provision::assert_counters_exact(&f.db);
    f
}

/// Every row of the database that is not tenant `id`'s, per table: the
/// other school, the districts, everything global.
fn others(db: &TestDb, id: i64) -> BTreeMap<String, String> {
    let tables = db.sql(
        "SELECT c.relname || ' ' || bool_or(a.attname = 'tenant_id') FROM pg_class c \
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 \
         WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' \
         GROUP BY c.relname ORDER BY 1",
    );
    tables
        .lines()
        .map(|line| {
            let (table, scoped) = line.split_once(' ').unwrap();
            let filter = match (table, scoped) {
                ("tenants", _) => format!("WHERE id <> {id}"),
                (_, "true") => format!("WHERE tenant_id <> {id}"),
                _ => String::new(),
            };
            let sum = db.sql(&format!(
                "SELECT count(*) || ':' || coalesce(md5(string_agg(x::text, E'\\n' ORDER BY x::text)), '') \
                 FROM {table} x {filter}"
            ));
            (table.to_owned(), sum)
        })
        .collect()
}

/// The rows of `table` that `filter` selects, as text, in id order.
fn rows(db: &TestDb, table: &str, filter: &str) -> String {
    db.sql(&format!(
        "SELECT coalesce(string_agg(x::text, E'\\n' ORDER BY x.id), '') FROM {table} x WHERE {filter}"
    ))
}

/// (table, json report) -> that table's counts.
fn table<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == name)
        .unwrap_or_else(|| panic!("no {name} in {report}"))
}

#[test]
fn a_merge_brings_back_exactly_the_deleted_rows_with_their_ids() {
    merge("pg15", NEWEST);
}

#[test]
fn a_merge_on_the_older_schema_and_postgresql_16() {
    merge("pg16", "2026-02-25");
}

fn merge(server: &str, date: &str) {
    let f = two_schools(server, &format!("tr_merge_{server}"), date);
    let maple = f.id("SELECT id FROM tenants WHERE slug = 'maple'");
    let algebra = f.id(&format!(
        "SELECT id FROM courses WHERE tenant_id = {maple} AND name = 'Algebra I'"
    ));
    let sam = f.id(&format!(
        "SELECT id FROM users WHERE tenant_id = {maple} AND email LIKE 'sam.stu@%'"
    ));
    // The course has a unit plan whose current version points back at it
    // (a foreign key cycle), with arrays and a tsvector.
    f.db.sql(&format!(
        "INSERT INTO unit_plans (tenant_id, course_id, created_by_id, title, start_date, \
           search_vector, created_at, updated_at) \
         SELECT {maple}, {algebra}, min(id), 'Linear functions', date '2026-09-01', \
           to_tsvector('simple', 'slope intercept'), now(), now() FROM users WHERE tenant_id = {maple}; \
         INSERT INTO unit_versions (tenant_id, unit_plan_id, title, version_number, \
           essential_questions, created_at, updated_at) \
         SELECT {maple}, id, 'v1', 1, ARRAY['Why slope?', 'What is a \"rate\"?'], now(), now() \
         FROM unit_plans WHERE course_id = {algebra}; \
         UPDATE unit_plans p SET current_version_id = v.id FROM unit_versions v \
         WHERE v.unit_plan_id = p.id"
    ));
    f.backup(&[]);
    let deleted = [
        ("unit_plans", format!("course_id = {algebra}")),
        ("unit_versions", format!("tenant_id = {maple}")),
        ("courses", format!("id = {algebra}")),
        ("sections", format!("course_id = {algebra}")),
        (
            "enrollments",
            format!(
                "section_id IN (SELECT id FROM sections WHERE course_id = {algebra}) OR user_id = {sam}"
            ),
        ),
        ("users", format!("id = {sam}")),
        ("user_roles", format!("user_id = {sam}")),
    ];
    let before: Vec<String> = deleted.iter().map(|(t, w)| rows(&f.db, t, w)).collect();
    assert!(before.iter().all(|r| !r.is_empty()), "{before:?}");
    // A teacher deletes the course with its sections and enrollments, and a
    // student leaves with their roles; a course is renamed and one added.
    f.db.sql(&format!(
        "BEGIN; \
         UPDATE unit_plans SET current_version_id = NULL WHERE course_id = {algebra}; \
         DELETE FROM unit_versions WHERE tenant_id = {maple}; \
         DELETE FROM unit_plans WHERE course_id = {algebra}; \
         DELETE FROM enrollments WHERE section_id IN (SELECT id FROM sections WHERE course_id = {algebra}) \
           OR user_id = {sam}; \
         DELETE FROM sections WHERE course_id = {algebra}; DELETE FROM courses WHERE id = {algebra}; \
         DELETE FROM user_roles WHERE user_id = {sam}; DELETE FROM users WHERE id = {sam}; \
         UPDATE courses SET name = 'Art & History' WHERE tenant_id = {maple} AND name = 'Art History'; \
         COMMIT"
    ));
    f.import("maple", "courses", "name,section_name\nChemistry,Lab C\n");
    let birch = f.id("SELECT id FROM tenants WHERE slug = 'birch'");
    let other_school = others(&f.db, maple);
    assert_eq!(others(&f.db, maple), other_school);
    let after_delete = f.db.table_checksums();

    // The plan, with nothing written.
    let dry = f.restore("maple", &f.db.name, &["--merge", "--dry-run"]);
    assert_code(&dry, 0);
    let plan = json(&dry);
    assert_eq!(plan["committed"], false);
    let counts = |t: &str| {
        let c = table(&plan, t);
        (
            c["missing"].as_i64().unwrap(),
            c["differ"].as_i64().unwrap(),
            c["new_since_backup"].as_i64().unwrap(),
        )
    };
    assert_eq!(counts("courses"), (1, 1, 1));
    assert_eq!(counts("sections"), (2, 0, 1));
    assert_eq!(counts("enrollments"), (6, 0, 0));
    assert_eq!(counts("users"), (1, 0, 0));
    assert_eq!(counts("user_roles"), (1, 0, 0));
    assert_eq!(counts("unit_plans"), (1, 0, 0));
    assert_eq!(counts("unit_versions"), (1, 0, 0));
    assert_eq!(counts("permissions"), (0, 0, 0));
    assert!(plan["deferred_foreign_keys"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k == "unit_plans.current_version_id -> unit_versions"));
    assert_eq!(table(&plan, "tenants")["reach"], "tenant");
    assert!(plan["left_alone"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t == "districts"));
    assert_eq!(
        f.db.table_checksums(),
        after_delete,
        "a dry run writes nothing"
    );

    // Off a terminal without --yes: refused, nothing written.
    let refused = f.restore("maple", &f.db.name, &["--merge"]);
    assert_code(&refused, 3);
    assert!(stderr(&refused).contains("--yes"), "{}", stderr(&refused));
    assert_eq!(f.db.table_checksums(), after_delete);

    let merged = f.restore("maple", &f.db.name, &["--merge", "--yes"]);
    assert_code(&merged, 0);
    let report = json(&merged);
    assert_eq!(report["committed"], true);
    assert_eq!(table(&report, "enrollments")["inserted"], 6);
    let after: Vec<String> = deleted.iter().map(|(t, w)| rows(&f.db, t, w)).collect();
    for (i, (t, _)) in deleted.iter().enumerate() {
        if *t == "courses" {
            // Its counter cache is recomputed: the rest of the row as it was.
            assert_eq!(
                after[i].replace(char::is_numeric, ""),
                before[i].replace(char::is_numeric, "")
            );
        } else {
            assert_eq!(after[i], before[i], "{t}: the same rows, ids included");
        }
    }
    assert_eq!(
        others(&f.db, maple),
        other_school,
        "the other school is untouched"
    );
    crate::provision::assert_counters_exact(&f.db);
    assert_eq!(
        f.db.sql(&format!(
            "SELECT string_agg(name, ',' ORDER BY id) FROM courses WHERE tenant_id = {maple}"
        )),
        "Algebra I,Biology,Art & History,Chemistry",
        "the renamed and the new course stay as they are now"
    );
    assert_ne!(birch, maple);

    // Again: nothing is missing any more.
    let again = json(&f.restore("maple", &f.db.name, &["--merge", "--yes"]));
    assert_eq!(table(&again, "courses")["missing"], 0);
    assert_eq!(table(&again, "enrollments")["inserted"], 0);

    // Replacing what differs: the course gets its old name back, listed first.
    let checksums = f.db.table_checksums();
    let dry = json(&f.restore(
        "maple",
        &f.db.name,
        &["--merge", "--overwrite-changed", "--dry-run"],
    ));
    assert_eq!(dry["differing"][0]["table"], "courses");
    assert_eq!(f.db.table_checksums(), checksums);
    let replaced = f.restore(
        "maple",
        &f.db.name,
        &["--merge", "--overwrite-changed", "--yes"],
    );
    assert_code(&replaced, 0);
    assert_eq!(table(&json(&replaced), "courses")["overwritten"], 1);
    assert_eq!(
        f.db.sql(&format!(
            "SELECT count(*) FROM courses WHERE tenant_id = {maple} AND name = 'Art History'"
        )),
        "1"
    );
    assert_eq!(others(&f.db, maple), other_school);
    crate::provision::assert_counters_exact(&f.db);
}

/// Run k12ctl on a pseudo-terminal, typing `answer` at the prompt.
fn on_a_terminal(f: &Fixture, args: &[&str], answer: &str) -> Output {
    let bin = assert_cmd::cargo::cargo_bin("k12ctl");
    let mut child = Command::new("python3")
        .args([
            "-c",
            "import pty, sys; sys.exit(pty.spawn(sys.argv[1:]) >> 8)",
        ])
        .arg(bin)
        .args(args)
        .env("DATABASE_URL", &f.db.url)
        .env("K12CTL_STORAGE", f.prefix.storage_url(&f.env))
        .env("K12CTL_S3_ENDPOINT", &f.env.s3_endpoint)
        .env("K12CTL_PG_BINDIR", &f.server.bindir)
        .env("BACKUP_S3_REGION", &f.env.region)
        .env("AWS_ACCESS_KEY_ID", &f.env.access_key)
        .env("AWS_SECRET_ACCESS_KEY", &f.env.secret_key)
        .env("TERM", "dumb")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut screen = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("to confirm") {
        let n = std::io::Read::read(&mut screen, &mut buf).unwrap();
        assert!(
            n > 0,
            "no prompt appeared: {}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&buf[..n]);
    }
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(format!("{answer}\r").as_bytes()).unwrap();
    std::io::Read::read_to_end(&mut screen, &mut seen).unwrap();
    let mut out = child.wait_with_output().unwrap();
    drop(stdin);
    out.stdout = seen;
    out
}

#[test]
fn conflicts_stop_the_whole_merge_and_write_nothing() {
    let f = two_schools("pg15", "tr_conflict", NEWEST);
    let maple = f.id("SELECT id FROM tenants WHERE slug = 'maple'");
    let birch = f.id("SELECT id FROM tenants WHERE slug = 'birch'");
    let sam = f.id(&format!(
        "SELECT id FROM users WHERE tenant_id = {maple} AND email LIKE 'sam.stu@%'"
    ));
    f.backup(&[]);
    // Sam leaves; a new account takes his email.
    f.db.sql(&format!(
        "BEGIN; DELETE FROM enrollments WHERE user_id = {sam}; \
         DELETE FROM user_roles WHERE user_id = {sam}; DELETE FROM users WHERE id = {sam}; COMMIT"
    ));
    f.import(
        "maple",
        "users",
        "email,first_name,last_name,role\nsam.stu@maple.example.org,Samuel,New,student\n",
    );
    let birch_rows = others(&f.db, maple);
    let oakdale =
        f.db.sql("SELECT x::text FROM districts x WHERE slug = 'oakdale'");
    // Birch is deleted whole, and then its district: a parent of its tenant
    // row that is not among the backup's rows of birch.
    f.db.sql(&format!(
        "BEGIN; SET LOCAL session_replication_role = replica; \
         DO $$ DECLARE t text; BEGIN \
           FOR t IN SELECT c.relname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid \
             WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND a.attname = 'tenant_id' LOOP \
             EXECUTE format('DELETE FROM %I WHERE tenant_id = {birch}', t); \
           END LOOP; END $$; \
         DELETE FROM tenants WHERE id = {birch}; \
         DELETE FROM districts WHERE slug = 'oakdale'; COMMIT"
    ));
    let now = f.db.table_checksums();

    let out = f.restore("maple", &f.db.name, &["--merge", "--yes"]);
    assert_code(&out, 4);
    let report = json(&out);
    let conflicts = report["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 1, "{report}");
    assert_eq!(conflicts[0]["table"], "users");
    assert_eq!(conflicts[0]["row"], format!("id={sam}"));
    let problem = conflicts[0]["problem"].as_str().unwrap();
    assert!(
        problem.contains("index_users_on_tenant_id_and_email"),
        "{problem}"
    );
    assert_eq!(report["committed"], false);
    assert_eq!(f.db.table_checksums(), now, "nothing written");
    let human = run(f.k12().args([
        "restore", "--tenant", "maple", "--latest", "--target", &f.db.name, "--merge", "--yes",
    ]));
    assert_code(&human, 4);
    assert!(stdout(&human).contains("REFUSED"), "{}", stdout(&human));
    assert!(
        stderr(&human).contains("cannot go back"),
        "{}",
        stderr(&human)
    );

    let out = f.restore("birch", &f.db.name, &["--merge", "--yes"]);
    assert_code(&out, 4);
    let report = json(&out);
    let conflicts = report["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 1, "{report}");
    assert_eq!(conflicts[0]["table"], "tenants");
    assert!(
        conflicts[0]["problem"]
            .as_str()
            .unwrap()
            .contains("districts"),
        "{report}"
    );
    assert_eq!(f.db.table_checksums(), now, "nothing written");

    // With its district back, the whole school comes back as it was, once
    // its subdomain is typed.
    f.db.sql(&format!(
        "INSERT INTO districts SELECT (({}::text)::districts).*",
        quote_literal(&oakdale)
    ));
    let now = f.db.table_checksums();
    let args = [
        "restore", "--tenant", "birch", "--latest", "--target", &f.db.name, "--merge",
    ];
    let wrong = on_a_terminal(&f, &args, "maple");
    assert_eq!(wrong.status.code(), Some(3), "{}", stdout(&wrong));
    assert!(
        stdout(&wrong).contains("Type the subdomain"),
        "{}",
        stdout(&wrong)
    );
    assert!(
        stdout(&wrong).contains("missing now"),
        "the plan is shown: {}",
        stdout(&wrong)
    );
    assert_eq!(f.db.table_checksums(), now, "nothing written");
    let right = on_a_terminal(&f, &args, "birch");
    assert_eq!(right.status.code(), Some(0), "{}", stdout(&right));
    assert_eq!(
        others(&f.db, maple),
        birch_rows,
        "birch is back, byte for byte"
    );
}

fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// An age key file and its recipient.
fn age_key() -> (tempfile::TempDir, std::path::PathBuf, String) {
    use age::secrecy::ExposeSecret;
    let id = age::x25519::Identity::generate();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("backup-key.txt");
    std::fs::write(&path, format!("{}\n", id.to_string().expose_secret())).unwrap();
    (dir, path, id.to_public().to_string())
}

/// From an encrypted backup, on PostgreSQL 16.
#[test]
fn an_extract_holds_only_that_school_and_its_checklist() {
    let f = two_schools("pg16", "tr_extract", NEWEST);
    let maple = f.id("SELECT id FROM tenants WHERE slug = 'maple'");
    let (_keydir, key, recipient) = age_key();
    f.backup(&["--encrypt-to", &recipient]);
    let key = key.to_str().unwrap();
    let target = unique("k12t_tr_extract_out");
    let no_key = f.restore("maple", &target, &["--create", "--yes"]);
    assert_code(&no_key, 2);
    assert!(
        stderr(&no_key).contains("--identity"),
        "{}",
        stderr(&no_key)
    );
    let unknown = f.restore("cedar", &target, &["--create", "--yes", "--identity", key]);
    assert_code(&unknown, 1);
    assert!(
        stderr(&unknown).contains("birch, maple"),
        "{}",
        stderr(&unknown)
    );
    assert_eq!(
        psql(
            &f.server.url,
            &format!("SELECT count(*) FROM pg_database WHERE datname = '{target}'")
        ),
        "0"
    );

    let out = f.restore("maple", &target, &["--create", "--yes", "--identity", key]);
    let extract = TestDb::adopt(&f.server, &target);
    assert_code(&out, 0);
    assert_eq!(json(&out)["committed"], true);
    assert_eq!(
        extract.sql("SELECT string_agg(slug, ',') FROM tenants"),
        "maple"
    );
    assert_eq!(
        extract.sql("SELECT string_agg(slug, ',') FROM districts"),
        "larkspur"
    );
    // Every row of maple as in the source, and its district; nothing else
    // (the backup's own backup_records row stays out: it is global).
    let birch = f.id("SELECT id FROM tenants WHERE slug = 'birch'");
    let mut expected = others(&f.db, birch);
    expected.insert(
        "districts".into(),
        f.db.sql(
            "SELECT count(*) || ':' || md5(string_agg(x::text, E'\\n' ORDER BY x::text)) \
             FROM districts x WHERE slug = 'larkspur'",
        ),
    );
    expected.insert("backup_records".into(), "0:".into());
    assert_eq!(others(&extract, 0), expected);
    let status = |db: &TestDb| {
        let out = run(k12ctl(&f.env).env("DATABASE_URL", &db.url).args([
            "provision",
            "status",
            "maple",
            "--output",
            "json",
        ]));
        assert_code(&out, 0);
        json(&out)
    };
    let mut there = status(&extract);
    let mut here = status(&f.db);
    assert_eq!(there["tenant_id"], maple);
    there["tenant_id"] = 0.into();
    here["tenant_id"] = 0.into();
    assert_eq!(there, here, "the same checklist");
    assert_eq!(
        extract.sql("SELECT last_value FROM users_id_seq"),
        f.db.sql("SELECT last_value FROM users_id_seq"),
        "sequences continue where the backup's were"
    );
    let again = f.restore("maple", &target, &["--create", "--yes", "--identity", key]);
    assert_code(&again, 2);
}
