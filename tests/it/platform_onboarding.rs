//! Onboarding on the platform's real schema (`../shared/platform/`, both
//! dates), on PostgreSQL 15 and 16: `provision school` as
//! TenantProvisioningService does it, the three imports in
//! DataImportService's CSV formats, and `provision status` in
//! OnboardingChecklistService's shape; then a later migration (a NOT NULL
//! column with a default added, a counter cache dropped), and a NOT NULL
//! column k12ctl cannot fill, refused before any write.

use std::process::Command;

use crate::common::*;

const NEWEST: &str = "2026-03-07";

const USERS: &str = "email,first_name,last_name,role\n\
                     tina.teach@maple.example.org,Tina,Teach,teacher\n\
                     sam.stu@maple.example.org,Sam,\"Stu, Jr.\",student\n\
                     zoe@maple.example.org,,,\n";
const COURSES: &str = "name,description,section_name\n\
                       Algebra I,Linear equations,Period 1\n\
                       Algebra I,,Period 2\n\
                       Biology,,Lab A\n\
                       Art History,,\n";
const ENROLLMENTS: &str = "email,section_name,role\n\
                           tina.teach@maple.example.org,Period 1,teacher\n\
                           sam.stu@maple.example.org,Period 1,student\n\
                           zoe@maple.example.org,Period 2,\n\
                           sam.stu@maple.example.org,Lab A,student\n";

fn k12(server: &PgServer, db: &TestDb) -> Command {
    let env = env();
    let mut cmd = k12ctl(&env);
    cmd.env("DATABASE_URL", &db.url)
        .env("K12CTL_PG_BINDIR", &server.bindir);
    cmd
}

fn provision_args(subdomain: &str, email: &str) -> Vec<String> {
    [
        "provision",
        "school",
        "--name",
        "Maple Grove High",
        "--subdomain",
        subdomain,
        "--admin-email",
        email,
        "--admin-first-name",
        "Pat",
        "--admin-last-name",
        "O'Malley",
        "--district",
        "larkspur",
        "--create-district",
        "Larkspur Unified",
        "--timezone",
        "America/Chicago",
        "--academic-year-start",
        "2026-08-17",
        "--output",
        "json",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

fn import(server: &PgServer, db: &TestDb, kind: &str, csv: &str) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(format!("{kind}.csv"));
    std::fs::write(&file, csv).unwrap();
    let out = run(k12(server, db)
        .args([
            "import", "csv", "--tenant", "maple", "--kind", kind, "--output", "json",
        ])
        .arg(&file));
    assert_code(&out, 0);
    json(&out)
}

/// (inserted, updated, unchanged) of a table in an import report.
fn counts(report: &serde_json::Value, table: &str) -> (i64, i64, i64) {
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

/// The whole onboarding of one school, checked row by row.
fn onboard(server: &PgServer, db: &TestDb, counter_dropped: bool) {
    let out = run(k12(server, db).args(provision_args("maple", "pat@maple.example.org")));
    assert_code(&out, 0);
    let school = &json(&out)["schools"][0];
    assert_eq!(school["status"], "created", "{school}");
    let q = |sql: &str| db.sql(sql);
    assert_eq!(q("SELECT count(*) FROM permissions"), "389");
    assert_eq!(q("SELECT count(*) FROM roles"), "5");
    assert_eq!(
        q(
            "SELECT count(*) || ' ' || min(provider_name) || ' ' || min(status) || ' ' || \
           min(default_model) || ' ' || min(available_models::text) FROM ai_provider_configs"
        ),
        "1 anthropic active claude-sonnet-4-5-20250929 [\"claude-sonnet-4-5-20250929\"]"
    );
    assert_eq!(
        q("SELECT count(*) FROM ai_task_policies p \
           JOIN ai_provider_configs c ON c.id = p.ai_provider_config_id \
           WHERE p.requires_approval AND p.enabled"),
        "5"
    );
    assert_eq!(
        q("SELECT string_agg(name || '/' || jurisdiction, ',' ORDER BY id) FROM standard_frameworks"),
        "Common Core/US,NGSS/US,C3 Framework/US"
    );
    assert_eq!(
        q(
            "SELECT d.slug || '|' || d.name || '|' || s.timezone FROM tenants t \
           JOIN districts d ON d.id = t.district_id JOIN schools s ON s.tenant_id = t.id"
        ),
        "larkspur|Larkspur Unified|America/Chicago"
    );
    assert_eq!(
        q(
            "SELECT (settings #> '{features,google_integration}')::text || ' ' || \
                  (settings ->> 'ai_safety_level') || ' ' || \
                  (settings ->> 'curriculum_default_profile_key') || ' ' || \
                  (settings #>> '{branding,school_name}') FROM tenants"
        ),
        "true strict american_common_core_v1 Maple Grove High"
    );

    assert_eq!(
        counts(&import(server, db, "users", USERS), "users"),
        (3, 0, 0)
    );
    assert_eq!(
        q("SELECT first_name || ' ' || last_name FROM users WHERE email = 'zoe@maple.example.org'"),
        "Imported User",
        "DataImportService's names for a blank one"
    );
    let courses = import(server, db, "courses", COURSES);
    assert_eq!(counts(&courses, "courses"), (3, 0, 0));
    assert_eq!(counts(&courses, "sections"), (3, 0, 0));
    assert_eq!(counts(&courses, "terms"), (1, 0, 0));
    assert_eq!(
        q(
            "SELECT string_agg(x.name || ':' || m.name, ',' ORDER BY x.id) FROM sections x \
           JOIN terms m ON m.id = x.term_id"
        ),
        "Period 1:Default Term,Period 2:Default Term,Lab A:Default Term"
    );
    assert_eq!(
        q("SELECT m.start_date || '/' || m.end_date FROM terms m"),
        "2026-08-17/2027-08-16"
    );
    let enrollments = import(server, db, "enrollments", ENROLLMENTS);
    assert_eq!(counts(&enrollments, "enrollments"), (4, 0, 0));
    assert_eq!(
        q("SELECT string_agg(e.role, ',' ORDER BY e.id) FROM enrollments e"),
        "teacher,student,student,student"
    );
    if !counter_dropped {
        assert_eq!(
            q("SELECT count(*) FROM courses c WHERE enrollments_count <> \
               (SELECT count(*) FROM enrollments e JOIN sections x ON x.id = e.section_id \
                WHERE x.course_id = c.id)"),
            "0"
        );
        assert_eq!(
            q("SELECT string_agg(name || ':' || enrollments_count, ',' ORDER BY id) FROM courses"),
            "Algebra I:3,Biology:1,Art History:0"
        );
    }

    crate::provision::assert_counters_exact(db);

    let status = run(k12(server, db).args(["provision", "status", "maple", "--output", "json"]));
    assert_code(&status, 0);
    let status = json(&status);
    let keys: Vec<&str> = status
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "completed_count",
            "completion_percentage",
            "items",
            "school_name",
            "tenant_id",
            "total_count"
        ]
    );
    let done: Vec<(&str, bool, bool)> = status["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["key"].as_str().unwrap(),
                i["done"].as_bool().unwrap(),
                i["required"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        done,
        [
            ("admin_created", true, true),
            ("school_configured", true, true),
            ("academic_year", true, true),
            ("teachers_added", true, true),
            ("students_added", true, false),
            ("course_created", true, false),
            ("standards_imported", false, false),
            ("google_configured", true, false),
            ("ai_configured", true, true),
            ("branding_set", false, false),
        ]
    );
    assert_eq!(status["completion_percentage"], 80);
    assert_eq!(status["school_name"], "Maple Grove High");

    // Everything again: nothing changes, not even updated_at.
    let before = db.table_checksums();
    let again = run(k12(server, db).args(provision_args("maple", "pat@maple.example.org")));
    assert_code(&again, 0);
    assert_eq!(json(&again)["schools"][0]["status"], "already provisioned");
    assert_eq!(
        counts(&import(server, db, "users", USERS), "users"),
        (0, 0, 3)
    );
    let courses = import(server, db, "courses", COURSES);
    assert_eq!(counts(&courses, "courses"), (0, 0, 3));
    assert_eq!(counts(&courses, "sections"), (0, 0, 3));
    assert_eq!(
        counts(
            &import(server, db, "enrollments", ENROLLMENTS),
            "enrollments"
        ),
        (0, 0, 4)
    );
    assert_eq!(db.table_checksums(), before);
}

#[test]
fn onboarding_on_both_real_schemas_and_both_servers() {
    let env = env();
    for server in pg_servers(&env) {
        let dates: &[&str] = if server.name == "pg15" {
            &PLATFORM_DATES
        } else {
            &[NEWEST]
        };
        for date in dates {
            let db = TestDb::platform_on(&server, &format!("po_{}", server.name), date);
            onboard(&server, &db, false);
        }
    }
}

#[test]
fn a_later_migration_is_followed() {
    let env = env();
    let server = pg_server(&env, "pg15");
    let db = TestDb::platform_on(&server, "po_migrated", NEWEST);
    db.sql(
        "ALTER TABLE users ADD COLUMN locale varchar NOT NULL DEFAULT 'en'; \
         ALTER TABLE courses DROP COLUMN enrollments_count",
    );
    onboard(&server, &db, true);
    assert_eq!(
        db.sql("SELECT string_agg(DISTINCT locale, ',') FROM users"),
        "en"
    );
}

#[test]
fn a_not_null_column_without_a_default_is_refused_before_any_write() {
    let env = env();
    let server = pg_server(&env, "pg15");
    let db = TestDb::platform_on(&server, "po_notnull", NEWEST);
    db.sql("ALTER TABLE schools ADD COLUMN region varchar NOT NULL");
    let out = run(k12(&server, &db).args(provision_args("maple", "pat@maple.example.org")));
    assert_code(&out, 1);
    assert!(stderr(&out).contains("schools.region"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("nothing was written"),
        "{}",
        stderr(&out)
    );
    for table in ["tenants", "districts", "schools", "users"] {
        assert_eq!(
            db.sql(&format!("SELECT count(*) FROM {table}")),
            "0",
            "{table}"
        );
    }

    // Provisioned, then the sections table gains such a column: the courses
    // import is refused naming it, and writes nothing.
    db.sql("ALTER TABLE schools DROP COLUMN region");
    assert_code(
        &run(k12(&server, &db).args(provision_args("maple", "pat@maple.example.org"))),
        0,
    );
    db.sql("ALTER TABLE sections ADD COLUMN room varchar NOT NULL");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("courses.csv");
    std::fs::write(&file, COURSES).unwrap();
    let out = run(k12(&server, &db)
        .args(["import", "csv", "--tenant", "maple", "--kind", "courses"])
        .arg(&file));
    assert_code(&out, 1);
    assert!(stderr(&out).contains("sections.room"), "{}", stderr(&out));
    assert_eq!(db.sql("SELECT count(*) FROM courses"), "0");
    assert_eq!(db.sql("SELECT count(*) FROM terms"), "0");
}

#[test]
fn districts_emails_and_section_names_are_checked_against_the_database() {
    let env = env();
    let server = pg_server(&env, "pg15");
    let db = TestDb::platform_on(&server, "po_refs", NEWEST);
    // An unknown district without --create-district.
    let mut args = provision_args("maple", "pat@maple.example.org");
    let at = args.iter().position(|a| a == "--create-district").unwrap();
    args.drain(at..at + 2);
    let out = run(k12(&server, &db).args(&args));
    assert_code(&out, 4);
    assert!(
        stdout(&out).contains("no district has the slug"),
        "{}",
        stdout(&out)
    );
    assert_eq!(db.sql("SELECT count(*) FROM tenants"), "0");

    assert_code(
        &run(k12(&server, &db).args(provision_args("maple", "pat@maple.example.org"))),
        0,
    );
    // The platform registers an admin email once, across tenants.
    let out = run(k12(&server, &db).args(provision_args("birch", "pat@maple.example.org")));
    assert_code(&out, 4);
    assert!(
        stdout(&out).contains("already registered"),
        "{}",
        stdout(&out)
    );

    // Two sections with one name: an enrollment by that name is refused.
    import(&server, &db, "users", USERS);
    import(
        &server,
        &db,
        "courses",
        "name,section_name\nAlgebra I,Period 1\nBiology,Period 1\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("enrollments.csv");
    std::fs::write(
        &file,
        "email,section_name\nsam.stu@maple.example.org,Period 1\n",
    )
    .unwrap();
    let before = db.table_checksums();
    let out = run(k12(&server, &db)
        .args([
            "import",
            "csv",
            "--tenant",
            "maple",
            "--kind",
            "enrollments",
        ])
        .arg(&file));
    assert_code(&out, 4);
    assert!(
        stdout(&out).contains("2 sections are named"),
        "{}",
        stdout(&out)
    );
    assert_eq!(db.table_checksums(), before);

    // The codes format needs section codes, which this schema has not.
    std::fs::write(
        &file,
        "course_code,course_name,section_code,section_name\nALG1,Algebra I,ALG1-01,P1\n",
    )
    .unwrap();
    let out = run(k12(&server, &db)
        .args(["import", "csv", "--tenant", "maple", "--kind", "courses"])
        .arg(&file));
    assert_code(&out, 2);
    assert!(stderr(&out).contains("sections.code"), "{}", stderr(&out));
    assert_eq!(db.table_checksums(), before);
}
