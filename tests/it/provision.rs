//! `provision school` and `provision status` against real PostgreSQL with
//! the platform schema: exact rows and counters, one transaction, idempotent
//! re-runs, and every bad input refused before anything is written.

use std::process::Command;

use crate::common::*;

/// `k12ctl` for a database (provisioning needs no storage).
pub fn k12(env: &Env, db: &TestDb) -> Command {
    let mut cmd = k12ctl(env);
    cmd.env("DATABASE_URL", &db.url);
    cmd
}

/// Flags of a valid school.
pub fn school_flags(subdomain: &str) -> Vec<String> {
    [
        "provision",
        "school",
        "--name",
        "Maple Grove High School",
        "--subdomain",
        subdomain,
        "--admin-email",
        "Pat.OMalley@Maple.example.org",
        "--admin-first-name",
        "Pat",
        "--admin-last-name",
        "O'Malley",
        "--district",
        "Maple Grove USD",
        "--timezone",
        "America/Chicago",
        "--academic-year-start",
        "2026-08-17",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

/// Provision a school; returns its tenant id.
pub fn provision(env: &Env, db: &TestDb, subdomain: &str) -> i64 {
    let out = run(k12(env, db)
        .args(school_flags(subdomain))
        .args(["--output", "json"]));
    assert_code(&out, 0);
    json(&out)["schools"][0]["tenant_id"].as_i64().unwrap()
}

/// The platform's counter caches equal real counts (scripts/check-counters.sql).
#[track_caller]
pub fn assert_counters_exact(db: &TestDb) {
    let query = std::fs::read_to_string(repo_path("scripts/check-counters.sql")).unwrap();
    let query: String = query
        .lines()
        .filter(|l| !l.starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    let wrong = db.sql(query.trim().trim_end_matches(';'));
    assert!(wrong.is_empty(), "counter caches are wrong:\n{wrong}");
}

fn count(db: &TestDb, sql: &str) -> i64 {
    db.sql(sql).parse().unwrap()
}

#[test]
fn provisioning_creates_exactly_the_expected_rows_and_is_idempotent() {
    let env = env();
    let db = TestDb::with_schema(&env, "p_rows");
    let out = run(k12(&env, &db)
        .args(school_flags("maple-grove"))
        .args(["--output", "json"]));
    assert_code(&out, 0);
    let report = json(&out);
    let school = &report["schools"][0];
    assert_eq!(school["status"], "created");
    let tenant = school["tenant_id"].as_i64().unwrap();
    assert_eq!(school["created"]["permissions"], 389);
    assert_eq!(school["created"]["ai_policies"], 5);
    assert_eq!(school["onboarding"]["percent"], 50);
    assert_eq!(school["academic_year"], "2026-2027");

    assert_eq!(
        db.sql("SELECT name || '|' || slug || '|' || district || '|' || timezone || '|' || schools_count || '|' || courses_count FROM tenants"),
        "Maple Grove High School|maple-grove|Maple Grove USD|America/Chicago|1|0"
    );
    assert_eq!(
        db.sql("SELECT string_agg(name, ',' ORDER BY id) FROM roles"),
        "admin,teacher,student,curriculum_lead,guardian"
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM permissions WHERE granted"),
        389
    );
    assert_eq!(
        db.sql("SELECT string_agg(r.name || ':' || n, ',' ORDER BY r.name) FROM (SELECT role_id, count(*) n FROM permissions GROUP BY role_id) p JOIN roles r ON r.id = p.role_id"),
        "admin:336,curriculum_lead:16,guardian:1,student:7,teacher:29"
    );
    assert_eq!(
        db.sql("SELECT u.email || '|' || u.first_name || '|' || u.last_name || '|' || r.name FROM users u JOIN user_roles ur ON ur.user_id = u.id JOIN roles r ON r.id = ur.role_id"),
        "pat.omalley@maple.example.org|Pat|O'Malley|admin"
    );
    assert_eq!(
        db.sql("SELECT name || '|' || start_date || '|' || end_date || '|' || current FROM academic_years"),
        "2026-2027|2026-08-17|2027-08-16|true"
    );
    assert_eq!(
        db.sql("SELECT string_agg(task_type || ':' || allowed_roles::text, ',' ORDER BY id) FROM ai_task_policies WHERE enabled AND requires_approval AND NOT allowed_roles ? 'student'"),
        ["lesson_plan", "unit_plan", "differentiation", "assessment", "rewrite"]
            .map(|t| format!("{t}:[\"admin\", \"curriculum_lead\", \"teacher\"]"))
            .join(",")
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM schools WHERE tenant_id = (SELECT id FROM tenants)"
        ),
        1
    );
    // Rails timestamps: set on every row, in UTC.
    for table in [
        "tenants",
        "schools",
        "roles",
        "permissions",
        "users",
        "user_roles",
        "academic_years",
        "ai_task_policies",
    ] {
        assert_eq!(
            count(&db, &format!("SELECT count(*) FROM {table} WHERE abs(extract(epoch FROM (now() AT TIME ZONE 'UTC') - created_at)) > 600 OR updated_at <> created_at")),
            0,
            "{table} timestamps"
        );
    }
    assert_counters_exact(&db);

    // The same spec again: nothing changes.
    let before = db.table_checksums();
    let again = run(k12(&env, &db)
        .args(school_flags("maple-grove"))
        .args(["--output", "json"]));
    assert_code(&again, 0);
    assert_eq!(json(&again)["schools"][0]["status"], "already provisioned");
    assert_eq!(json(&again)["schools"][0]["tenant_id"], tenant);
    assert_eq!(db.table_checksums(), before);

    // The checklist.
    let status =
        run(k12(&env, &db).args(["provision", "status", "maple-grove", "--output", "json"]));
    assert_code(&status, 0);
    let status = json(&status);
    assert_eq!(status["completion_percentage"], 50);
    assert_eq!(status["completed_count"], 5);
    assert_eq!(status["total_count"], 10);
    let items: Vec<(String, bool)> = status["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["key"].as_str().unwrap().to_owned(),
                i["done"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(items.len(), 10);
    assert_eq!(items.iter().filter(|i| i.1).count(), 5);
    assert!(items.contains(&("teachers_added".into(), false)));
    assert!(items.contains(&("google_configured".into(), true)));
    // An existing school is shown as the database holds it.
    db.sql("UPDATE academic_years SET name = 'SY 2026-27'");
    let again = run(k12(&env, &db)
        .args(school_flags("maple-grove"))
        .args(["--output", "json"]));
    let again = &json(&again)["schools"][0];
    assert_eq!(again["academic_year"], "SY 2026-27");
    assert_eq!(again["school_id"], school["school_id"]);
    assert_eq!(again["admin_user_id"], school["admin_user_id"]);
    let human = run(k12(&env, &db).args(["provision", "status", "maple-grove"]));
    assert!(
        stdout(&human).contains("onboarding 50% complete (5 of 10)"),
        "{}",
        stdout(&human)
    );
}

#[test]
fn a_failure_midway_leaves_no_row_behind() {
    let env = env();
    let db = TestDb::with_schema(&env, "p_midway");
    // Something the platform might have: a trigger that refuses the AI
    // policies, the last rows written.
    db.sql(
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN RAISE EXCEPTION 'policies are frozen'; END $$; \
         CREATE TRIGGER refuse BEFORE INSERT ON ai_task_policies FOR EACH ROW EXECUTE FUNCTION refuse()",
    );
    let before = db.table_checksums();
    let out = run(k12(&env, &db).args(school_flags("maple-grove")));
    assert_code(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("nothing of it was written")
            && err.contains("writing ai_task_policies: policies are frozen"),
        "{err}"
    );
    assert_eq!(db.table_checksums(), before, "no row may stay behind");
    // Fixed, the same command provisions the school.
    db.sql("DROP TRIGGER refuse ON ai_task_policies");
    provision(&env, &db, "maple-grove");
    assert_eq!(count(&db, "SELECT count(*) FROM ai_task_policies"), 5);
    assert_counters_exact(&db);
}

#[test]
fn bad_inputs_are_refused_before_any_write() {
    let env = env();
    let db = TestDb::with_schema(&env, "p_bad");
    provision(&env, &db, "maple-grove");
    let before = db.table_checksums();
    let with = |flag: &str, value: &str, sub: &str| {
        let mut args = school_flags(sub);
        let i = args.iter().position(|a| a == flag).unwrap();
        args[i + 1] = value.to_owned();
        run(k12(&env, &db).args(args))
    };
    for (out, needle) in [
        (
            with("--admin-email", "pat@@example", "oak-park"),
            "admin_email",
        ),
        (with("--subdomain", "www", "oak-park"), "reserved"),
        (
            with("--subdomain", "Oak_Park", "oak-park"),
            "lowercase letters",
        ),
        (with("--subdomain", "oak-", "oak-park"), "hyphen"),
        (
            with("--timezone", "Mars/Olympus_Mons", "oak-park"),
            "unknown time zone",
        ),
        (
            with("--name", &"n".repeat(300), "oak-park"),
            "longer than 255",
        ),
        (
            with("--name", "Maple Grove Academy", "maple-grove"),
            "\"Maple Grove High School\" in the database, \"Maple Grove Academy\" requested",
        ),
        (
            with("--academic-year-start", "2025-08-01", "maple-grove"),
            "academic_year_start",
        ),
    ] {
        assert_code(&out, 4);
        let all = format!("{}{}", stdout(&out), stderr(&out));
        assert!(all.contains(needle), "expected {needle:?} in: {all}");
        assert!(
            stderr(&out).contains("nothing was written"),
            "{}",
            stderr(&out)
        );
    }
    // A required flag missing is a usage error.
    let out = run(k12(&env, &db).args([
        "provision",
        "school",
        "--name",
        "X",
        "--subdomain",
        "oak-park",
    ]));
    assert_code(&out, 2);
    assert!(stderr(&out).contains("--admin-email"), "{}", stderr(&out));
    assert_eq!(db.table_checksums(), before);
}

#[test]
fn hostile_values_are_stored_verbatim() {
    let env = env();
    let db = TestDb::with_schema(&env, "p_hostile");
    let name = "Robert'); DROP TABLE tenants; -- \"Bobby\" Tables 🤖 École";
    let last = "O'Brien; SELECT pg_sleep(10) --";
    let out = run(k12(&env, &db).args([
        "provision",
        "school",
        "--name",
        name,
        "--subdomain",
        "bobby-tables",
        "--admin-email",
        "it+admin@bobby.example.org",
        "--admin-first-name",
        "Zoë",
        "--admin-last-name",
        last,
    ]));
    assert_code(&out, 0);
    assert_eq!(db.sql("SELECT name FROM tenants"), name);
    assert_eq!(db.sql("SELECT name FROM schools"), name);
    assert_eq!(
        db.sql("SELECT first_name || '|' || last_name FROM users"),
        format!("Zoë|{last}")
    );
    assert_counters_exact(&db);
}

#[test]
fn a_yaml_file_is_validated_whole_and_dry_run_writes_nothing() {
    let env = env();
    let db = TestDb::with_schema(&env, "p_yaml");
    let dir = tempfile::tempdir().unwrap();
    let entry = |sub: &str, email: &str| {
        format!(
            "  - name: {sub} school\n    subdomain: {sub}\n    admin_email: {email}\n    \
             admin_first_name: Ada\n    admin_last_name: Lovelace\n"
        )
    };
    let file = dir.path().join("schools.yaml");
    let bad = format!(
        "schools:\n{}{}{}",
        entry("elm-street", "ada@elm.example.org"),
        entry("oak-street", "not an email"),
        entry("pine-street", "ada@pine.example.org")
    );
    std::fs::write(&file, bad).unwrap();
    let before = db.table_checksums();
    let out = run(k12(&env, &db)
        .args(["provision", "school", "--file"])
        .arg(&file)
        .args(["--output", "json"]));
    assert_code(&out, 4);
    let problems = &json(&out)["problems"];
    assert_eq!(problems.as_array().unwrap().len(), 1, "{problems}");
    assert_eq!(problems[0]["entry"], "#2 (oak-street)");
    assert_eq!(problems[0]["field"], "admin_email");
    assert_eq!(
        db.table_checksums(),
        before,
        "one bad entry: nothing written"
    );

    // An unknown key is refused with its name.
    std::fs::write(&file, "schools:\n  - name: A\n    subdomian: abc\n").unwrap();
    let out = run(k12(&env, &db)
        .args(["provision", "school", "--file"])
        .arg(&file));
    assert_code(&out, 4);
    assert!(stderr(&out).contains("subdomian"), "{}", stderr(&out));

    let good = format!(
        "schools:\n{}{}",
        entry("elm-street", "ada@elm.example.org"),
        entry("pine-street", "ada@pine.example.org")
    );
    std::fs::write(&file, &good).unwrap();
    let dry = run(k12(&env, &db)
        .args(["provision", "school", "--dry-run", "--file"])
        .arg(&file)
        .args(["--output", "json"]));
    assert_code(&dry, 0);
    assert_eq!(json(&dry)["schools"][1]["status"], "would create");
    assert_eq!(json(&dry)["schools"][1]["would_create"]["permissions"], 389);
    assert_eq!(db.table_checksums(), before, "--dry-run writes nothing");

    let out = run(k12(&env, &db)
        .args(["provision", "school", "--file"])
        .arg(&file));
    assert_code(&out, 0);
    assert!(
        stdout(&out).contains("2 school(s) created"),
        "{}",
        stdout(&out)
    );
    assert_eq!(count(&db, "SELECT count(*) FROM tenants"), 2);
    assert_eq!(count(&db, "SELECT count(*) FROM roles"), 10);
    assert_counters_exact(&db);
}

#[test]
fn missing_tables_and_columns_are_named() {
    let env = env();
    let empty = TestDb::new(&env, "p_empty");
    for args in [
        school_flags("maple-grove"),
        vec!["provision".into(), "status".into(), "maple-grove".into()],
    ] {
        let out = run(k12(&env, &empty).args(args));
        assert_code(&out, 1);
        let err = stderr(&out);
        assert!(
            err.contains("missing table tenants") && err.contains("run the platform's migrations"),
            "{err}"
        );
    }
    let db = TestDb::with_schema(&env, "p_nocol");
    db.sql("ALTER TABLE user_roles DROP COLUMN role_id; ALTER TABLE schools DROP COLUMN name");
    let out = run(k12(&env, &db).args(school_flags("maple-grove")));
    assert_code(&out, 1);
    assert!(
        stderr(&out).contains("column schools.name")
            && stderr(&out).contains("column user_roles.role_id"),
        "{}",
        stderr(&out)
    );
    assert_eq!(count(&db, "SELECT count(*) FROM tenants"), 0);

    let out = run(k12(&env, &db).args(["provision", "status", "nowhere"]));
    assert_code(&out, 1);
    let db = TestDb::with_schema(&env, "p_status");
    let out = run(k12(&env, &db).args(["provision", "status", "nowhere"]));
    assert_code(&out, 1);
    assert!(
        stderr(&out).contains("no tenant has the subdomain \"nowhere\""),
        "{}",
        stderr(&out)
    );
}

#[test]
fn ai_policies_come_from_the_config_file() {
    let env = env();
    let db = TestDb::with_schema(&env, "p_policies");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("k12ctl.yaml");
    std::fs::write(
        &config,
        "provision:\n  ai_policies:\n    \
         - {task_type: rewrite, allowed_roles: [teacher, student], requires_approval: false}\n    \
         - {task_type: ib_proofing, allowed_roles: [curriculum_lead], enabled: false}\n",
    )
    .unwrap();
    let out = run(k12(&env, &db)
        .arg("--config")
        .arg(&config)
        .args(school_flags("maple-grove")));
    assert_code(&out, 0);
    assert_eq!(
        db.sql("SELECT string_agg(task_type || ':' || enabled || ':' || requires_approval || ':' || allowed_roles::text, ',' ORDER BY id) FROM ai_task_policies"),
        "rewrite:true:false:[\"teacher\", \"student\"],ib_proofing:false:true:[\"curriculum_lead\"]"
    );
    let shown = run(k12(&env, &db)
        .arg("--config")
        .arg(&config)
        .args(["config", "show"]));
    assert!(
        stdout(&shown).contains("rewrite (teacher/student), ib_proofing (curriculum_lead)"),
        "{}",
        stdout(&shown)
    );

    // An empty role list would mean "every role" to the platform: refused.
    std::fs::write(
        &config,
        "provision:\n  ai_policies:\n    - {task_type: rewrite, allowed_roles: []}\n",
    )
    .unwrap();
    let out = run(k12(&env, &db)
        .arg("--config")
        .arg(&config)
        .args(school_flags("oak-park")));
    assert_code(&out, 2);
    assert!(stderr(&out).contains("every role"), "{}", stderr(&out));
    assert_eq!(count(&db, "SELECT count(*) FROM tenants"), 1);
}
