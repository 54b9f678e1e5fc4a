//! `import csv` against real PostgreSQL: rows written verbatim through COPY,
//! re-imports that change nothing, exact counter caches after every import,
//! and every bad file reported line by line with nothing written.

use std::io::Write;
use std::process::{Output, Stdio};

use crate::common::*;
use crate::provision::{assert_counters_exact, k12, provision};

const TENANT: &str = "maple-grove";

/// A tenant ready for imports, and a directory for its files.
fn setup(env: &Env, hint: &str) -> (TestDb, tempfile::TempDir) {
    let db = TestDb::with_schema(env, hint);
    provision(env, &db, TENANT);
    (db, tempfile::tempdir().unwrap())
}

fn import(
    env: &Env,
    db: &TestDb,
    dir: &tempfile::TempDir,
    kind: &str,
    content: &[u8],
    extra: &[&str],
) -> Output {
    let file = dir.path().join(format!("{kind}.csv"));
    std::fs::write(&file, content).unwrap();
    let out = run(k12(env, db)
        .args([
            "import", "csv", "--tenant", TENANT, "--kind", kind, "--output", "json",
        ])
        .args(extra)
        .arg(&file));
    assert_counters_exact(db);
    out
}

/// (inserted, updated, unchanged) of `table` in a successful import's report.
#[track_caller]
fn counts(out: &Output, table: &str) -> (i64, i64, i64) {
    assert_code(out, 0);
    let report = json(out);
    let t = report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == table)
        .unwrap_or_else(|| panic!("no {table} in {report}"));
    (
        t["inserted"].as_i64().unwrap(),
        t["updated"].as_i64().unwrap(),
        t["unchanged"].as_i64().unwrap(),
    )
}

/// (line, column) of every problem of a rejected import; asserts exit 4.
#[track_caller]
fn problems(out: &Output) -> Vec<(u64, String, String)> {
    assert_code(out, 4);
    assert!(
        stderr(out).contains("nothing was written"),
        "{}",
        stderr(out)
    );
    json(out)["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["line"].as_u64().unwrap(),
                e["column"].as_str().unwrap_or("").to_owned(),
                e["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// (line, column) of each problem.
fn places(p: &[(u64, String, String)]) -> Vec<(u64, &str)> {
    p.iter().map(|e| (e.0, e.1.as_str())).collect()
}

const USERS: &str = "\u{feff}Email,First_Name,Last_Name,ROLE\r\n\
    tina.teach@maple.example.org,Tina,Teach,teacher\r\n\
    \"sam.stu@maple.example.org\",\"Sam, Jr.\",\"O'Neil\r\nSmith\",student\r\n\
    zoe@maple.example.org,Zoë,🤖 Nguyễn,student\r\n\
    bobby@maple.example.org,\"Robert'); DROP TABLE users;--\",\"\"\"Tables\"\"\",student\r\n\
    gina.guardian@maple.example.org,Gina,Guardian,guardian\r\n";

const COURSES: &str = "course_code,course_name,section_code,section_name\n\
    ALG1,Algebra I,ALG1-01,\"Period 1, Room 12\"\n\
    ALG1,Algebra I,ALG1-02,Period 2\n\
    BIO,Biology 🧬,BIO-01,Period 3\n";

const ENROLLMENTS: &str = "email,section_code,role\n\
    tina.teach@maple.example.org,ALG1-01,teacher\n\
    tina.teach@maple.example.org,ALG1-02,teacher\n\
    SAM.STU@maple.example.org,ALG1-01,student\n\
    zoe@maple.example.org,ALG1-01,student\n\
    zoe@maple.example.org,BIO-01,student\n\
    bobby@maple.example.org,ALG1-02,student\n";

#[test]
fn a_roster_imports_verbatim_and_reimporting_changes_nothing() {
    let env = env();
    let (db, dir) = setup(&env, "i_roster");

    // Dry run first: what would happen, nothing written.
    let before = db.table_checksums();
    assert_eq!(
        counts(
            &import(&env, &db, &dir, "users", USERS.as_bytes(), &["--dry-run"]),
            "users"
        ),
        (5, 0, 0)
    );
    assert_eq!(db.table_checksums(), before, "--dry-run writes nothing");

    assert_eq!(
        counts(
            &import(&env, &db, &dir, "users", USERS.as_bytes(), &[]),
            "users"
        ),
        (5, 0, 0)
    );
    assert_eq!(
        db.sql("SELECT first_name || '|' || last_name FROM users WHERE email = 'sam.stu@maple.example.org'"),
        "Sam, Jr.|O'Neil\r\nSmith"
    );
    assert_eq!(
        db.sql("SELECT first_name || '|' || last_name FROM users WHERE email = 'bobby@maple.example.org'"),
        "Robert'); DROP TABLE users;--|\"Tables\""
    );
    assert_eq!(
        db.sql("SELECT last_name FROM users WHERE email = 'zoe@maple.example.org'"),
        "🤖 Nguyễn"
    );
    assert_eq!(
        db.sql("SELECT string_agg(r.name, ',' ORDER BY r.name) FROM user_roles ur JOIN roles r ON r.id = ur.role_id JOIN users u ON u.id = ur.user_id WHERE u.email LIKE '%maple.example.org' AND u.email <> 'pat.omalley@maple.example.org'"),
        "guardian,student,student,student,teacher"
    );

    let courses = import(&env, &db, &dir, "courses", COURSES.as_bytes(), &[]);
    assert_eq!(counts(&courses, "courses"), (2, 0, 0));
    assert_eq!(counts(&courses, "sections"), (3, 0, 0));
    assert_eq!(db.sql("SELECT courses_count FROM tenants"), "2");
    assert_eq!(
        db.sql("SELECT name FROM sections WHERE code = 'ALG1-01'"),
        "Period 1, Room 12"
    );

    assert_eq!(
        counts(
            &import(&env, &db, &dir, "enrollments", ENROLLMENTS.as_bytes(), &[]),
            "enrollments"
        ),
        (6, 0, 0)
    );
    assert_eq!(
        db.sql(
            "SELECT string_agg(code || ':' || enrollments_count, ',' ORDER BY code) FROM sections"
        ),
        "ALG1-01:3,ALG1-02:2,BIO-01:1"
    );
    let status = run(k12(&env, &db).args(["provision", "status", TENANT, "--output", "json"]));
    // Ten items; standards (no such table here) and branding (no logo) not done.
    assert_eq!(json(&status)["completion_percentage"], 80);

    // The same files again: nothing changes, not even updated_at.
    let before = db.table_checksums();
    assert_eq!(
        counts(
            &import(&env, &db, &dir, "users", USERS.as_bytes(), &[]),
            "users"
        ),
        (0, 0, 5)
    );
    let again = import(&env, &db, &dir, "courses", COURSES.as_bytes(), &[]);
    assert_eq!(
        (counts(&again, "courses"), counts(&again, "sections")),
        ((0, 0, 2), (0, 0, 3))
    );
    assert_eq!(
        counts(
            &import(&env, &db, &dir, "enrollments", ENROLLMENTS.as_bytes(), &[]),
            "enrollments"
        ),
        (0, 0, 6)
    );
    assert_eq!(
        db.table_checksums(),
        before,
        "a re-import must change nothing"
    );

    // Changed names update; a new role is added; an enrollment's role changes.
    let changed = "email,first_name,last_name,role\n\
                   tina.teach@maple.example.org,Tina,Teach-Smith,teacher\n\
                   zoe@maple.example.org,Zoë,🤖 Nguyễn,curriculum_lead\n\
                   new.kid@maple.example.org,New,Kid,student\n";
    assert_eq!(
        counts(
            &import(&env, &db, &dir, "users", changed.as_bytes(), &[]),
            "users"
        ),
        (1, 2, 0)
    );
    assert_eq!(
        db.sql("SELECT last_name FROM users WHERE email = 'tina.teach@maple.example.org'"),
        "Teach-Smith"
    );
    assert_eq!(
        db.sql("SELECT count(*) FROM users WHERE updated_at > created_at"),
        "1",
        "only the renamed user's row is touched"
    );
    let moved = "email,section_code,role\nzoe@maple.example.org,BIO-01,teacher\nnew.kid@maple.example.org,BIO-01,student\n";
    assert_eq!(
        counts(
            &import(&env, &db, &dir, "enrollments", moved.as_bytes(), &[]),
            "enrollments"
        ),
        (1, 1, 0)
    );
    assert_eq!(
        db.sql("SELECT enrollments_count FROM sections WHERE code = 'BIO-01'"),
        "2"
    );
    let renamed =
        "course_code,course_name,section_code,section_name\nBIO,Biology,BIO-01,Period 3\n";
    let out = import(&env, &db, &dir, "courses", renamed.as_bytes(), &[]);
    assert_eq!(
        (counts(&out, "courses"), counts(&out, "sections")),
        ((0, 1, 0), (0, 0, 1))
    );
}

#[test]
fn standard_input_and_the_human_report() {
    let env = env();
    let (db, _dir) = setup(&env, "i_stdin");
    let from_stdin = |input: &[u8]| {
        let mut child = k12(&env, &db)
            .args(["import", "csv", "--tenant", TENANT, "--kind", "users", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        child.wait_with_output().unwrap()
    };
    let out = from_stdin(USERS.as_bytes());
    assert_code(&out, 0);
    let text = stdout(&out);
    assert!(
        text.contains("imported 5 row(s) of a users file (-) into maple-grove"),
        "{text}"
    );
    assert!(text.contains("Inserted"), "{text}");
    assert_eq!(db.sql("SELECT count(*) FROM users"), "6");
    assert_counters_exact(&db);

    // Problems as a table on stdout, the verdict on stderr.
    let out = from_stdin(b"email,first_name,last_name,role\nx@example.org,A,B,principal\n");
    assert_code(&out, 4);
    assert!(
        stdout(&out).contains("Line") && stdout(&out).contains("unknown role \"principal\""),
        "{}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains("error: 1 problem in -; nothing was written"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn every_bad_file_is_reported_by_line_and_nothing_is_written() {
    let env = env();
    let (db, dir) = setup(&env, "i_bad");
    assert_code(&import(&env, &db, &dir, "users", USERS.as_bytes(), &[]), 0);
    assert_code(
        &import(&env, &db, &dir, "courses", COURSES.as_bytes(), &[]),
        0,
    );
    let before = db.table_checksums();

    let users = |body: &[u8]| {
        let mut file = b"email,first_name,last_name,role\n".to_vec();
        file.extend_from_slice(body);
        import(&env, &db, &dir, "users", &file, &[])
    };
    let p = problems(&users(
        b"a@example.org,Ann,Lee,teacher\nb@example.org,\xff\xfeBob,Lee,student\n",
    ));
    assert_eq!(p.len(), 1);
    assert_eq!((p[0].0, p[0].1.as_str()), (3, "first_name"));
    assert!(p[0].2.contains("UTF-8"));

    let p = problems(&users(
        b"a@example.org,Ann,Lee,teacher\nb@example.org,Bob,Lee,principal\n",
    ));
    assert_eq!((p[0].0, p[0].1.as_str()), (3, "role"));

    let p = problems(&users(b"a@example.org,Ann,Lee,teacher\n\"b@example.org\",\"Bob\nby\",Lee,student\nA@Example.org,Ann,Lee,student\n"));
    assert_eq!(
        (p[0].0, p[0].1.as_str()),
        (5, "email"),
        "a quoted line break counts as a line"
    );
    assert!(
        p[0].2.contains("duplicate email: first on line 2"),
        "{}",
        p[0].2
    );

    let p = problems(&users(b"not-an-email,Ann,Lee,teacher\n"));
    assert_eq!((p[0].0, p[0].1.as_str()), (2, "email"));

    let long = format!("a@example.org,{},Lee,teacher\n", "x".repeat(10_000));
    let p = problems(&users(long.as_bytes()));
    assert_eq!((p[0].0, p[0].1.as_str()), (2, "first_name"));
    assert!(p[0].2.contains("longer than 255"), "{}", p[0].2);

    let p = problems(&import(
        &env,
        &db,
        &dir,
        "users",
        b"mail,first_name,role\na@example.org,Ann,teacher\n",
        &[],
    ));
    assert_eq!((p[0].0, p[0].1.as_str()), (1, "email"));
    assert!(p[0].2.contains("missing column"));

    let enrollments = "email,section_code,role\n\
                       tina.teach@maple.example.org,ALG1-01,teacher\n\
                       tina.teach@maple.example.org,GEO-09,teacher\n\
                       nobody@maple.example.org,ALG1-01,student\n\
                       zoe@maple.example.org,BIO-01,guardian\n";
    let p = problems(&import(
        &env,
        &db,
        &dir,
        "enrollments",
        enrollments.as_bytes(),
        &[],
    ));
    assert_eq!(places(&p), [(3, "section_code"), (4, "email"), (5, "role")]);
    assert!(p[0].2.contains("no section \"GEO-09\""), "{}", p[0].2);
    assert!(
        p[1].2.contains("no user nobody@maple.example.org"),
        "{}",
        p[1].2
    );

    let courses = "course_code,course_name,section_code,section_name,academic_year\n\
                   GEO,Geometry,ALG1-01,Period 1,\n\
                   GEO,Geometry,GEO-01,Period 1,1999-2000\n";
    let p = problems(&import(&env, &db, &dir, "courses", courses.as_bytes(), &[]));
    assert_eq!(places(&p), [(2, "section_code"), (3, "academic_year")]);
    assert!(
        p[0].2.contains("ALG1-01 belongs to course ALG1"),
        "{}",
        p[0].2
    );

    // A blank academic year is the current one: the same course, two names.
    let courses = "course_code,course_name,section_code,section_name,academic_year\n\
                   CHEM,Chemistry,CHEM-01,Period 1,\n\
                   CHEM,Chemistry Honors,CHEM-02,Period 2,2026-2027\n";
    let p = problems(&import(&env, &db, &dir, "courses", courses.as_bytes(), &[]));
    assert_eq!(places(&p), [(3, "course_name")]);
    assert!(
        p[0].2
            .contains("course \"CHEM\" is named \"Chemistry\" on line 2"),
        "{}",
        p[0].2
    );

    let out = import(&env, &db, &dir, "users", b"", &[]);
    assert!(problems(&out)[0].2.contains("empty"));

    assert_eq!(
        db.table_checksums(),
        before,
        "a rejected import writes nothing"
    );

    // Not a tenant, not a file.
    let out = run(k12(&env, &db)
        .args(["import", "csv", "--tenant", "nowhere", "--kind", "users"])
        .arg(dir.path().join("users.csv")));
    assert_code(&out, 1);
    assert!(
        stderr(&out).contains("no tenant has the subdomain \"nowhere\""),
        "{}",
        stderr(&out)
    );
    let out = run(k12(&env, &db).args([
        "import",
        "csv",
        "--tenant",
        TENANT,
        "--kind",
        "users",
        "/nonexistent/users.csv",
    ]));
    assert_code(&out, 2);
    assert!(
        stderr(&out).contains("cannot open /nonexistent/users.csv"),
        "{}",
        stderr(&out)
    );
    assert_eq!(db.table_checksums(), before);
}

#[test]
fn one_bad_row_among_ten_thousand() {
    let env = env();
    let (db, dir) = setup(&env, "i_10k");
    let mut file = String::from("email,first_name,last_name,role\n");
    for i in 1..=10_000 {
        if i == 7_777 {
            file.push_str("student7777.example.org,Bad,Row,student\n");
        } else {
            file.push_str(&format!(
                "student{i}@maple.example.org,First{i},Last{i},student\n"
            ));
        }
    }
    let before = db.table_checksums();
    let p = problems(&import(&env, &db, &dir, "users", file.as_bytes(), &[]));
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!((p[0].0, p[0].1.as_str()), (7_778, "email"));
    assert_eq!(db.table_checksums(), before);

    let fixed = file.replace("student7777.example.org", "student7777@maple.example.org");
    assert_eq!(
        counts(
            &import(&env, &db, &dir, "users", fixed.as_bytes(), &[]),
            "users"
        ),
        (10_000, 0, 0)
    );
    assert_eq!(db.sql("SELECT count(*) FROM users"), "10001");
    assert_eq!(
        db.sql("SELECT count(*) FROM user_roles ur JOIN roles r ON r.id = ur.role_id WHERE r.name = 'student'"),
        "10000"
    );
}

#[test]
fn the_schema_is_checked_before_reading() {
    let env = env();
    let (db, dir) = setup(&env, "i_schema");
    db.sql("ALTER TABLE enrollments RENAME COLUMN role TO kind");
    let file = dir.path().join("users.csv");
    std::fs::write(&file, USERS).unwrap();
    let out = run(k12(&env, &db)
        .args(["import", "csv", "--tenant", TENANT, "--kind", "users"])
        .arg(&file));
    assert_code(&out, 1);
    assert!(
        stderr(&out).contains("column enrollments.role"),
        "{}",
        stderr(&out)
    );
    assert_eq!(db.sql("SELECT count(*) FROM users"), "1");
}

#[test]
fn a_second_import_into_the_same_tenant_waits_its_turn() {
    use std::io::{BufRead, BufReader};
    let env = env();
    let (db, dir) = setup(&env, "i_lock");
    let tenant_id = db.sql("SELECT id FROM tenants");
    // Another import holds the tenant's lock: a psql session that took it
    // (the same two keys as k12ctl's) and says so.
    let mut holder = std::process::Command::new("psql")
        .args(["-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1", "-d", &db.url])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut to_psql = holder.stdin.take().unwrap();
    writeln!(
        to_psql,
        "BEGIN; SELECT 'locked' FROM (SELECT pg_advisory_xact_lock(1798386281, hashtext('{tenant_id}'))) l;"
    )
    .unwrap();
    let mut from_psql = BufReader::new(holder.stdout.take().unwrap());
    let mut line = String::new();
    from_psql.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "locked");

    let before = db.table_checksums();
    let out = import(&env, &db, &dir, "users", USERS.as_bytes(), &[]);
    assert_code(&out, 5);
    assert!(
        stderr(&out).contains("is running; try again"),
        "{}",
        stderr(&out)
    );
    assert_eq!(db.table_checksums(), before);

    writeln!(to_psql, "COMMIT;").unwrap();
    drop(to_psql);
    assert!(holder.wait().unwrap().success());
    assert_eq!(
        counts(
            &import(&env, &db, &dir, "users", USERS.as_bytes(), &[]),
            "users"
        ),
        (5, 0, 0)
    );
}
