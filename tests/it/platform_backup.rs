//! The core round trip (`backup run`, `backup verify --latest`,
//! `restore --latest`) of a database with the platform's real schema and
//! thousands of rows across the onboarding tables, on PostgreSQL 15 and 16,
//! each with its own client tools.

use std::collections::BTreeMap;

use crate::common::*;

/// The onboarding tables that [`FILL`] fills, and the rows each gets.
const FILLED: [(&str, i64); 15] = [
    ("districts", 3),
    ("tenants", 12),
    ("schools", 48),
    ("users", 3000),
    ("roles", 60),
    ("user_roles", 3000),
    ("permissions", 2880),
    ("academic_years", 24),
    ("terms", 48),
    ("courses", 240),
    ("sections", 480),
    ("enrollments", 9600),
    ("ai_provider_configs", 24),
    ("ai_task_policies", 144),
    ("standard_frameworks", 60),
];

/// Deterministic rows in the columns both schema dates have, foreign keys and
/// NOT NULL columns respected: 3 districts; 12 tenants (3 without a
/// district); per tenant 4 schools, 250 users (1 admin, 2 curriculum leads,
/// 27 teachers, 170 students, 50 guardians), the 5 roles, one role per user,
/// 240 permissions, 2 academic years of 2 terms, 10 courses a year with a
/// section per term, 20 enrollments a section (a teacher and 19 students), 2
/// AI providers, the 12 task policies and 5 standard frameworks. Text with
/// quotes, line breaks and non-ASCII letters, NULLs, jsonb, tsvector,
/// dates, timestamps and a double. The sequences end at the largest ids.
const FILL: &str = r#"
BEGIN;
INSERT INTO districts (id, name, slug, settings, created_at, updated_at)
SELECT d, 'District ' || d || ' — Région ' || chr(64 + d), 'district-' || d,
       jsonb_build_object('region', 'r' || d, 'sso', d % 2 = 0),
       timestamp '2026-01-05 08:00' + d * interval '1 hour',
       timestamp '2026-01-05 08:00' + d * interval '1 hour'
FROM generate_series(1, 3) d;

INSERT INTO tenants (id, district_id, name, slug, settings, created_at, updated_at)
SELECT t, CASE WHEN t <= 9 THEN (t - 1) / 3 + 1 END, 'Tenant ' || t || ' O''Hara Academy',
       'tenant-' || t, CASE WHEN t % 4 = 0 THEN NULL ELSE jsonb_build_object('plan', 'k12', 'n', t) END,
       timestamp '2026-01-05 09:00' + t * interval '1 minute',
       timestamp '2026-01-05 09:00' + t * interval '1 minute'
FROM generate_series(1, 12) t;

INSERT INTO schools (id, tenant_id, name, address, timezone, created_at, updated_at)
SELECT (t - 1) * 4 + k, t, 'École ' || k || ' of tenant ' || t,
       CASE WHEN k = 4 THEN NULL ELSE k || ' Main St' || E'\n' || 'Springfield' END,
       (ARRAY['America/New_York', 'Europe/Paris', 'Asia/Tokyo', NULL])[k],
       timestamp '2026-01-06 08:00' + ((t - 1) * 4 + k) * interval '1 minute',
       timestamp '2026-01-06 08:00' + ((t - 1) * 4 + k) * interval '1 minute'
FROM generate_series(1, 12) t, generate_series(1, 4) k;

INSERT INTO users (id, tenant_id, email, first_name, last_name, district_admin,
                   onboarding_complete, preferences, google_token_expires_at,
                   created_at, updated_at)
SELECT (t - 1) * 250 + u, t, 'user' || u || '@tenant' || t || '.example.edu',
       (ARRAY['Zoë', 'José', 'Åsa', 'Nguyễn', 'Li', 'Ann'])[u % 6 + 1],
       CASE WHEN u % 10 = 0 THEN NULL ELSE (ARRAY['O''Brien', 'Müller', 'Smith', 'Durand'])[u % 4 + 1] END,
       u = 1, u % 3 <> 0, jsonb_build_object('locale', (ARRAY['en', 'fr', 'es'])[u % 3 + 1], 'n', u),
       CASE WHEN u % 7 = 0 THEN timestamp '2026-02-01 00:00' + u * interval '1 second' END,
       timestamp '2026-01-07 08:00' + ((t - 1) * 250 + u) * interval '1 second',
       timestamp '2026-01-07 08:00' + ((t - 1) * 250 + u) * interval '2 second'
FROM generate_series(1, 12) t, generate_series(1, 250) u;

INSERT INTO roles (id, tenant_id, name, created_at, updated_at)
SELECT (t - 1) * 5 + r, t, (ARRAY['admin', 'teacher', 'student', 'curriculum_lead', 'guardian'])[r],
       timestamp '2026-01-05 10:00', timestamp '2026-01-05 10:00'
FROM generate_series(1, 12) t, generate_series(1, 5) r;

INSERT INTO user_roles (id, tenant_id, user_id, role_id, created_at, updated_at)
SELECT (t - 1) * 250 + u, t, (t - 1) * 250 + u,
       (t - 1) * 5 + CASE WHEN u = 1 THEN 1 WHEN u <= 3 THEN 4 WHEN u <= 30 THEN 2
                          WHEN u <= 200 THEN 3 ELSE 5 END,
       timestamp '2026-01-07 09:00', timestamp '2026-01-07 09:00'
FROM generate_series(1, 12) t, generate_series(1, 250) u;

INSERT INTO permissions (id, tenant_id, role_id, resource, action, granted, created_at, updated_at)
SELECT row_number() OVER (ORDER BY t, r, res, a), t, (t - 1) * 5 + r,
       (ARRAY['courses', 'sections', 'enrollments', 'users', 'roles', 'schools', 'terms',
              'academic_years', 'ai_provider_configs', 'ai_task_policies', 'standard_frameworks',
              'backups'])[res],
       (ARRAY['read', 'create', 'update', 'delete'])[a],
       r = 1 OR (a = 1 AND r <> 5) OR (r = 4 AND res <= 3),
       timestamp '2026-01-05 11:00', timestamp '2026-01-05 11:00'
FROM generate_series(1, 12) t, generate_series(1, 5) r, generate_series(1, 12) res,
     generate_series(1, 4) a;

INSERT INTO academic_years (id, tenant_id, name, start_date, end_date, current, created_at, updated_at)
SELECT (t - 1) * 2 + y, t, (2024 + y) || '-' || (2025 + y),
       make_date(2024 + y, 8, 15), make_date(2025 + y, 6, 20), y = 2,
       timestamp '2026-01-05 12:00', timestamp '2026-01-05 12:00'
FROM generate_series(1, 12) t, generate_series(1, 2) y;

INSERT INTO terms (id, tenant_id, academic_year_id, name, start_date, end_date, created_at, updated_at)
SELECT (ay.id - 1) * 2 + k, ay.tenant_id, ay.id, (ARRAY['Fall', 'Spring'])[k] || ' ' || ay.name,
       CASE WHEN k = 1 THEN ay.start_date ELSE make_date(extract(year FROM ay.end_date)::int, 1, 10) END,
       CASE WHEN k = 1 THEN make_date(extract(year FROM ay.start_date)::int, 12, 20) ELSE ay.end_date END,
       timestamp '2026-01-05 12:30', timestamp '2026-01-05 12:30'
FROM academic_years ay, generate_series(1, 2) k;

INSERT INTO courses (id, tenant_id, academic_year_id, name, code, description, search_vector,
                     settings, created_at, updated_at)
SELECT (ay.id - 1) * 10 + c, ay.tenant_id, ay.id,
       (ARRAY['Algebra', 'Biologie', 'Chemistry', 'Literature', 'History', 'Música', 'Art',
              'Physics', 'Geography', 'Computer Science'])[c] || ' ' || ay.name,
       CASE WHEN c = 10 THEN NULL ELSE 'C' || lpad(((ay.id - 1) * 10 + c)::text, 4, '0') END,
       'Course "' || c || '"' || E'\n\t' || 'with a tab, a quote '' and a backslash \',
       to_tsvector('simple', (ARRAY['algebra equations', 'cells', 'reactions', 'novels', 'empires',
                                    'rhythm', 'painting', 'motion', 'maps', 'algorithms'])[c]),
       jsonb_build_object('weights', jsonb_build_array(0.4, 0.6), 'grading', 'standards'),
       timestamp '2026-01-08 08:00' + ((ay.id - 1) * 10 + c) * interval '1 minute',
       timestamp '2026-01-08 08:00' + ((ay.id - 1) * 10 + c) * interval '1 minute'
FROM academic_years ay, generate_series(1, 10) c;

INSERT INTO sections (id, tenant_id, course_id, term_id, name, created_at, updated_at)
SELECT (co.id - 1) * 2 + k, co.tenant_id, co.id, (co.academic_year_id - 1) * 2 + k,
       'Section ' || chr(64 + k), timestamp '2026-01-09 08:00', timestamp '2026-01-09 08:00'
FROM courses co, generate_series(1, 2) k;

INSERT INTO enrollments (id, tenant_id, section_id, user_id, role, created_at, updated_at)
SELECT row_number() OVER (ORDER BY s.id, k), s.tenant_id, s.id,
       (s.tenant_id - 1) * 250 + CASE WHEN k = 0 THEN 4 + s.id % 27 ELSE 31 + (s.id * 19 + k) % 170 END,
       CASE WHEN k = 0 THEN 'teacher' ELSE 'student' END,
       timestamp '2026-01-10 08:00' + s.id * interval '1 second',
       timestamp '2026-01-10 08:00' + s.id * interval '1 second'
FROM sections s, generate_series(0, 19) k;

UPDATE courses co SET enrollments_count = (
  SELECT count(*) FROM enrollments e JOIN sections s ON s.id = e.section_id WHERE s.course_id = co.id);

INSERT INTO ai_provider_configs (id, tenant_id, created_by_id, provider_name, display_name,
                                 default_model, available_models, api_key, settings, status,
                                 created_at, updated_at)
SELECT (t - 1) * 2 + p, t, (t - 1) * 250 + 1, (ARRAY['openai', 'anthropic'])[p],
       (ARRAY['OpenAI', 'Anthropic'])[p], (ARRAY['gpt-4o-mini', 'claude-3-5-haiku'])[p],
       jsonb_build_array((ARRAY['gpt-4o-mini', 'claude-3-5-haiku'])[p], 'model-' || p || '-large'),
       CASE WHEN p = 1 THEN 'encrypted:' || md5('key' || t) END,
       jsonb_build_object('timeout', 30 * p), (ARRAY['active', 'inactive'])[p],
       timestamp '2026-01-11 08:00', timestamp '2026-01-11 08:00'
FROM generate_series(1, 12) t, generate_series(1, 2) p;

INSERT INTO ai_task_policies (id, tenant_id, ai_provider_config_id, created_by_id, task_type,
                              enabled, requires_approval, allowed_roles, max_tokens_limit,
                              model_override, temperature_limit, settings, created_at, updated_at)
SELECT (t - 1) * 12 + k, t, (t - 1) * 2 + 1 + k % 2, (t - 1) * 250 + 1,
       (ARRAY['lesson_plan', 'unit_plan', 'differentiation', 'assessment', 'rewrite',
              'ib_report_summary', 'ib_family_language', 'ib_reflection_summary', 'ib_evidence_gap',
              'ib_inquiry_language', 'ib_translation_support', 'ib_proofing'])[k],
       k <> 12, k % 3 = 0, '["admin", "teacher", "curriculum_lead"]'::jsonb, 1024 * k,
       CASE WHEN k % 4 = 0 THEN 'model-override-' || k END, 0.1 * k,
       '{}'::jsonb, timestamp '2026-01-11 09:00', timestamp '2026-01-11 09:00'
FROM generate_series(1, 12) t, generate_series(1, 12) k;

INSERT INTO standard_frameworks (id, tenant_id, name, jurisdiction, subject, version,
                                 created_at, updated_at)
SELECT (t - 1) * 5 + f, t,
       (ARRAY['Common Core Math', 'NGSS', 'IB MYP Sciences', 'C3 Social Studies', 'ISTE'])[f],
       CASE WHEN f = 5 THEN NULL ELSE (ARRAY['US', 'US', 'IB', 'US'])[f] END,
       (ARRAY['math', 'science', 'science', 'social_studies', 'technology'])[f], '20' || (10 + f),
       timestamp '2026-01-12 08:00', timestamp '2026-01-12 08:00'
FROM generate_series(1, 12) t, generate_series(1, 5) f;

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['districts', 'tenants', 'schools', 'users', 'roles', 'user_roles',
    'permissions', 'academic_years', 'terms', 'courses', 'sections', 'enrollments',
    'ai_provider_configs', 'ai_task_policies', 'standard_frameworks'] LOOP
    EXECUTE format('SELECT setval(pg_get_serial_sequence(%L, ''id''), max(id)) FROM public.%I',
                   'public.' || t, t);
  END LOOP;
END
$$;
COMMIT;
"#;

/// Rows only the newest schema has columns for: courses in schools, framework
/// keys and metadata.
const FILL_2026_03_07: &str = r#"
UPDATE courses SET school_id = (tenant_id - 1) * 4 + id % 4 + 1 WHERE id % 5 <> 0;
UPDATE standard_frameworks SET key = 'fw-' || id, metadata = jsonb_build_object('source', 'test', 'id', id),
                               status = CASE WHEN id % 5 = 0 THEN 'archived' ELSE 'active' END;
"#;

/// Every sequence's last value ("" before its first call).
fn sequences(url: &str) -> BTreeMap<String, String> {
    psql(
        url,
        "SELECT format('%I.%I', schemaname, sequencename) || '=' || coalesce(last_value::text, '') \
         FROM pg_sequences ORDER BY 1",
    )
    .lines()
    .map(|line| {
        let (name, value) = line.split_once('=').unwrap();
        (name.to_owned(), value.to_owned())
    })
    .collect()
}

/// The stored manifest of the only backup under `prefix`, read with the AWS CLI.
fn stored_manifest(env: &Env, prefix: &S3Prefix) -> serde_json::Value {
    let keys: Vec<String> = s3_keys(env, &prefix.prefix)
        .into_iter()
        .filter(|k| k.ends_with(".manifest.json"))
        .collect();
    assert_eq!(
        keys.len(),
        1,
        "one manifest under {}: {keys:?}",
        prefix.prefix
    );
    serde_json::from_slice(&s3_get(env, &keys[0])).expect("the manifest is JSON")
}

fn round_trip(server_name: &str, date: &str) {
    let env = env();
    let server = pg_server(&env, server_name);
    let hint = format!("plat_{server_name}");
    let db = TestDb::platform_on(&server, &hint, date);
    assert_eq!(
        db.sql("SELECT current_setting('server_version_num')::int / 10000"),
        server.major().to_string(),
        "{server_name} is PostgreSQL {}",
        server.major()
    );
    psql_stdin(&db.url, FILL);
    if date == "2026-03-07" {
        psql_stdin(&db.url, FILL_2026_03_07);
    }

    // The source as the backup will see it: its run's own backup_records row
    // comes after its snapshot.
    let source = db.table_checksums();
    let counts: BTreeMap<String, i64> = source
        .iter()
        .map(|(table, sum)| {
            let n = sum.split(':').next().unwrap().parse().unwrap();
            (table.clone(), n)
        })
        .collect();
    for (table, rows) in FILLED {
        assert_eq!(
            counts[&format!("public.{table}")],
            rows,
            "{table} is filled"
        );
    }
    assert!(
        counts.len() > 70,
        "the real schema has its tables: {}",
        counts.len()
    );
    assert_eq!(sequences(&db.url)["public.enrollments_id_seq"], "9600");

    let prefix = S3Prefix::new(&hint);
    let backup =
        run(k12ctl_on(&env, &server, &db, &prefix).args(["--output", "json", "backup", "run"]));
    assert_code(&backup, 0);
    let backup = json(&backup);
    assert_eq!(backup["status"], "completed");
    // Sequences are not transactional: the run's backup_records row took its
    // id before pg_dump read them, so they are compared as they are now.
    let source_sequences = sequences(&db.url);

    let verify = run(k12ctl_on(&env, &server, &db, &prefix)
        .args(["--output", "json", "backup", "verify", "--latest"]));
    assert_code(&verify, 0);
    let verify = json(&verify);
    assert_eq!(verify["id"], backup["id"]);
    assert_eq!(verify["status"], "verified");
    assert_eq!(verify["verification"]["passed"], true);

    // The manifest in the bucket: this server, these tools, the real counts,
    // verified.
    let manifest = stored_manifest(&env, &prefix);
    assert_eq!(manifest["id"], backup["id"]);
    assert_eq!(manifest["status"], "verified");
    assert_eq!(manifest["verification"]["passed"], true);
    let major = format!("{}.", server.major());
    for field in ["server_version", "pg_dump_version"] {
        let version = manifest[field].as_str().unwrap_or_default();
        assert!(
            version.starts_with(&major),
            "{field} {version:?} on {server_name}"
        );
    }
    let manifest_counts: BTreeMap<String, i64> =
        serde_json::from_value(manifest["table_row_counts"].clone()).unwrap();
    assert_eq!(manifest_counts, counts);
    let run_counts: BTreeMap<String, i64> =
        serde_json::from_value(backup["table_row_counts"].clone()).unwrap();
    assert_eq!(run_counts, counts);

    let target = unique(&format!("k12t_{hint}_restored"));
    let restore = run(k12ctl_on(&env, &server, &db, &prefix).args([
        "--output", "json", "restore", "--latest", "--target", &target, "--create", "--yes",
    ]));
    let restored = TestDb::adopt(&server, &target);
    assert_code(&restore, 0);
    assert_eq!(json(&restore)["row_counts_match"], true);
    assert_eq!(restored.table_checksums(), source);
    assert_eq!(sequences(&restored.url), source_sequences);
}

#[test]
fn platform_2026_03_07_round_trip_on_postgresql_15() {
    round_trip("pg15", "2026-03-07");
}

#[test]
fn platform_2026_03_07_round_trip_on_postgresql_16() {
    round_trip("pg16", "2026-03-07");
}

#[test]
fn platform_2026_02_25_round_trip_on_postgresql_16() {
    round_trip("pg16", "2026-02-25");
}
