//! The statements of one import, per kind and format, shaped by the catalog:
//! resolving the staged rows (`k12ctl_stage` -> `k12ctl_rows`), the
//! reference checks, the counts, and the writes. The tenant id is an integer
//! read from the database, written into the SQL as such (`CREATE TABLE AS`
//! takes no parameters).

use crate::db::insert::{Insert, NOW_UTC};
use crate::db::schema::Catalog;
use crate::onboarding::roster::{Format, Kind};

/// A reference check: rows of `k12ctl_rows` that fail, as (line, detail).
pub struct Check {
    pub column: &'static str,
    /// SELECT line, detail FROM k12ctl_rows ...
    pub sql: String,
    pub reason: fn(&str) -> String,
}

pub struct Statements {
    pub resolve: Vec<String>,
    pub checks: Vec<Check>,
    /// (table, SELECT inserted, updated, all).
    pub counts: Vec<(&'static str, String)>,
    pub write: Vec<String>,
}

/// The inserts an import makes (for the NOT NULL check and the writes).
pub fn inserts(kind: Kind, format: Format, tenant: i64) -> Vec<Insert> {
    let t = tenant.to_string();
    match kind {
        Kind::Users => vec![
            Insert::into("users")
                .value("tenant_id", t.clone())
                .value("email", "r.email")
                .value("first_name", "r.first_name")
                .value("last_name", "r.last_name"),
            Insert::into("user_roles")
                .value("tenant_id", t)
                .value("user_id", "u.id")
                .value("role_id", "r.role_id"),
        ],
        Kind::Courses => {
            let mut course = Insert::into("courses")
                .value("tenant_id", t.clone())
                .value("academic_year_id", "r.year_id");
            let mut section = Insert::into("sections")
                .value("tenant_id", t.clone())
                .value("course_id", "r.course_id");
            if format == Format::Codes {
                course = course.value("code", "r.course_code");
                section = section.value("code", "r.section_code");
            }
            vec![
                course
                    .value("name", "r.course_name")
                    .value("description", "r.description"),
                section.value("name", "r.section_name").value(
                    "term_id",
                    format!(
                        "(SELECT m.id FROM terms m WHERE m.tenant_id = {t} \
                         AND m.academic_year_id = r.year_id ORDER BY m.start_date, m.id LIMIT 1)"
                    ),
                ),
                Insert::into("terms")
                    .value("tenant_id", t)
                    .value("academic_year_id", "y.id")
                    .value("name", "'Default Term'")
                    .value("start_date", "y.start_date")
                    .value("end_date", "y.end_date"),
            ]
        }
        Kind::Enrollments => vec![Insert::into("enrollments")
            .value("tenant_id", t)
            .value("user_id", "r.user_id")
            .value("section_id", "r.section_id")
            .value("role", "r.role")],
    }
}

impl Statements {
    pub fn new(catalog: &Catalog, kind: Kind, format: Format, tenant: i64) -> Self {
        match kind {
            Kind::Users => users(catalog, tenant),
            Kind::Courses => courses(catalog, format, tenant),
            Kind::Enrollments => enrollments(catalog, format, tenant),
        }
    }
}

fn users(catalog: &Catalog, t: i64) -> Statements {
    let [user, user_role] = <[Insert; 2]>::try_from(inserts(Kind::Users, Format::Platform, t))
        .unwrap_or_else(|_| unreachable!("two inserts for users"));
    Statements {
        // DataImportService: a blank name keeps the user's, or is
        // `Imported User` for a new one.
        resolve: vec![format!(
            "CREATE TEMP TABLE k12ctl_rows ON COMMIT DROP AS \
             SELECT s.line, s.email, s.role, u.id AS user_id, r.id AS role_id, \
                    u.first_name AS old_first_name, u.last_name AS old_last_name, \
                    coalesce(s.first_name, u.first_name, 'Imported') AS first_name, \
                    coalesce(s.last_name, u.last_name, 'User') AS last_name, \
                    (ur.id IS NOT NULL) AS has_role \
             FROM k12ctl_stage s \
             LEFT JOIN users u ON u.tenant_id = {t} AND u.email = s.email \
             LEFT JOIN roles r ON r.tenant_id = {t} AND r.name = s.role \
             LEFT JOIN user_roles ur ON ur.user_id = u.id AND ur.role_id = r.id; \
             ANALYZE k12ctl_rows"
        )],
        checks: vec![Check {
            column: "role",
            sql: "SELECT line, role FROM k12ctl_rows WHERE role_id IS NULL".into(),
            reason: |role| {
                format!("the tenant has no role {role:?} (provision school creates the five roles)")
            },
        }],
        counts: vec![(
            "users",
            "SELECT count(*) FILTER (WHERE user_id IS NULL), \
                    count(*) FILTER (WHERE user_id IS NOT NULL AND (NOT has_role \
                      OR (old_first_name, old_last_name) IS DISTINCT FROM (first_name, last_name))), \
                    count(*) FROM k12ctl_rows"
                .into(),
        )],
        write: vec![
            user.sql(
                catalog,
                &format!(
                    "FROM k12ctl_rows r ORDER BY r.line \
                     ON CONFLICT (tenant_id, email) DO UPDATE \
                       SET first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name, \
                           updated_at = {NOW_UTC} \
                       WHERE (users.first_name, users.last_name) \
                             IS DISTINCT FROM (EXCLUDED.first_name, EXCLUDED.last_name)"
                ),
            ),
            user_role.sql(
                catalog,
                &format!(
                    "FROM k12ctl_rows r JOIN users u ON u.tenant_id = {t} AND u.email = r.email \
                     WHERE NOT r.has_role ORDER BY r.line \
                     ON CONFLICT (user_id, role_id) DO NOTHING"
                ),
            ),
        ],
    }
}

/// How the courses of a file match the database's: by code, or by name.
fn course_key(format: Format) -> (&'static str, &'static str) {
    match format {
        Format::Codes => ("code", "course_code"),
        Format::Platform => ("name", "course_name"),
    }
}

fn courses(catalog: &Catalog, format: Format, t: i64) -> Statements {
    let [course, section, term] = <[Insert; 3]>::try_from(inserts(Kind::Courses, format, t))
        .unwrap_or_else(|_| unreachable!("three inserts for courses"));
    let (key, row_key) = course_key(format);
    // With no academic_year column: the codes format's current year, the
    // platform's latest-starting year (DataImportService).
    let default_year = if format == Format::Codes && catalog.has("academic_years", "current") {
        "current DESC NULLS LAST, start_date DESC, id"
    } else {
        "start_date DESC, id"
    };
    let resolve_ids = {
        let section_match = match format {
            Format::Codes => format!("x.tenant_id = {t} AND x.code = r.section_code"),
            Format::Platform => "x.course_id = r.course_id AND x.name = r.section_name".to_owned(),
        };
        format!(
            "UPDATE k12ctl_rows r SET course_id = (SELECT min(c.id) FROM courses c \
               WHERE c.tenant_id = {t} AND c.academic_year_id = r.year_id AND c.{key} = r.{row_key}) \
             WHERE r.course_id IS NULL; \
             UPDATE k12ctl_rows r SET section_id = (SELECT min(x.id) FROM sections x \
               WHERE {section_match}) \
             WHERE r.section_id IS NULL AND r.section_name IS NOT NULL"
        )
    };
    let mut checks = vec![Check {
        column: "academic_year",
        sql: "SELECT line, coalesce(academic_year, '') FROM k12ctl_rows WHERE year_id IS NULL"
            .into(),
        reason: |year| {
            if year.is_empty() {
                "the tenant has no academic year; provision the school first, or name one in an \
                 academic_year column"
                    .to_owned()
            } else {
                format!("the tenant has no academic year named {year:?}")
            }
        },
    }];
    if format == Format::Codes {
        checks.push(Check {
            column: "section_code",
            sql: "SELECT r.line, r.section_code || ' belongs to course ' || c.code || ' (' || y.name || ')' \
                  FROM k12ctl_rows r \
                  JOIN sections x ON x.id = r.section_id \
                  JOIN courses c ON c.id = x.course_id \
                  JOIN academic_years y ON y.id = c.academic_year_id \
                  WHERE r.year_id IS NOT NULL \
                    AND (c.code <> r.course_code OR c.academic_year_id <> r.year_id)"
                .into(),
            reason: |what| format!("section {what} in the database"),
        });
        // The file's own check compares the years as written; a blank year
        // and the current year's name are the same year.
        checks.push(Check {
            column: "course_name",
            sql: "SELECT r.line, format('course \"%s\" is named \"%s\" on line %s', \
                    r.course_code, f.course_name, f.line) \
                  FROM k12ctl_rows r \
                  JOIN (SELECT DISTINCT ON (year_id, course_code) year_id, course_code, course_name, line \
                        FROM k12ctl_rows WHERE year_id IS NOT NULL \
                        ORDER BY year_id, course_code, line) f \
                    ON f.year_id = r.year_id AND f.course_code = r.course_code \
                  WHERE r.course_name <> f.course_name"
                .into(),
            reason: |what| what.to_owned(),
        });
    }
    // One row per course: the first with a description, else the first.
    let per_course = format!(
        "SELECT DISTINCT ON (year_id, {row_key}) * FROM k12ctl_rows \
         ORDER BY year_id, {row_key}, (description IS NULL), line"
    );
    let course_changed = match format {
        Format::Codes => "c.name IS DISTINCT FROM r.course_name",
        Format::Platform => {
            "r.description IS NOT NULL AND c.description IS DISTINCT FROM r.description"
        }
    };
    let course_changed = if format == Format::Platform && !catalog.has("courses", "description") {
        "false"
    } else {
        course_changed
    };
    let section_changed = match format {
        Format::Codes => "x.name IS DISTINCT FROM r.section_name",
        Format::Platform => "false",
    };
    let uses_terms = catalog.has("sections", "term_id") && catalog.has_table("terms");
    let new_terms = format!(
        "FROM academic_years y WHERE y.tenant_id = {t} AND y.id IN ( \
           SELECT year_id FROM k12ctl_rows WHERE section_id IS NULL AND section_name IS NOT NULL) \
         AND NOT EXISTS (SELECT 1 FROM terms m WHERE m.tenant_id = {t} AND m.academic_year_id = y.id)"
    );
    let mut counts = vec![
        (
            "courses",
            format!(
                "SELECT count(*) FILTER (WHERE r.course_id IS NULL), \
                        count(*) FILTER (WHERE r.course_id IS NOT NULL AND {course_changed}), \
                        count(*) \
                 FROM ({per_course}) r LEFT JOIN courses c ON c.id = r.course_id"
            ),
        ),
        (
            "sections",
            format!(
                "SELECT count(*) FILTER (WHERE r.section_id IS NULL), \
                        count(*) FILTER (WHERE r.section_id IS NOT NULL AND {section_changed}), \
                        count(*) \
                 FROM k12ctl_rows r LEFT JOIN sections x ON x.id = r.section_id \
                 WHERE r.section_name IS NOT NULL"
            ),
        ),
    ];
    let mut write = Vec::new();
    if format == Format::Codes || catalog.has("courses", "description") {
        let set = match format {
            Format::Codes => "name = r.course_name",
            Format::Platform => "description = r.description",
        };
        write.push(format!(
            "UPDATE courses c SET {set}, updated_at = {NOW_UTC} FROM ({per_course}) r \
             WHERE c.id = r.course_id AND {course_changed}"
        ));
    }
    write.push(course.sql(
        catalog,
        &format!("FROM ({per_course}) r WHERE r.course_id IS NULL ORDER BY r.line"),
    ));
    write.push(resolve_ids.clone());
    if uses_terms {
        counts.push((
            "terms",
            format!("SELECT count(*), 0::bigint, count(*) {new_terms}"),
        ));
        write.push(term.sql(catalog, &new_terms));
    }
    if format == Format::Codes {
        write.push(format!(
            "UPDATE sections x SET name = r.section_name, updated_at = {NOW_UTC} \
             FROM k12ctl_rows r WHERE x.id = r.section_id AND {section_changed}"
        ));
    }
    write.push(section.sql(
        catalog,
        "FROM k12ctl_rows r WHERE r.section_id IS NULL AND r.section_name IS NOT NULL \
         ORDER BY r.line",
    ));
    Statements {
        resolve: vec![
            format!(
                "CREATE TEMP TABLE k12ctl_rows ON COMMIT DROP AS \
                 SELECT s.*, y.id AS year_id, NULL::bigint AS course_id, NULL::bigint AS section_id \
                 FROM k12ctl_stage s \
                 LEFT JOIN LATERAL (SELECT id FROM academic_years \
                   WHERE tenant_id = {t} AND (s.academic_year IS NULL OR name = s.academic_year) \
                   ORDER BY (s.academic_year IS NULL), {default_year} LIMIT 1) y ON true"
            ),
            resolve_ids,
            "ANALYZE k12ctl_rows".into(),
        ],
        checks,
        counts,
        write,
    }
}

fn enrollments(catalog: &Catalog, format: Format, t: i64) -> Statements {
    let [enrollment] = <[Insert; 1]>::try_from(inserts(Kind::Enrollments, format, t))
        .unwrap_or_else(|_| unreachable!("one insert for enrollments"));
    let (section_column, column) = match format {
        Format::Codes => ("code", "section_code"),
        Format::Platform => ("name", "section_name"),
    };
    let mut checks = vec![
        Check {
            column: "email",
            sql: "SELECT line, email FROM k12ctl_rows WHERE user_id IS NULL".into(),
            reason: |email| format!("no user {email} in this tenant (import users first)"),
        },
        Check {
            column,
            sql: "SELECT line, section FROM k12ctl_rows WHERE sections_found = 0".into(),
            reason: |s| format!("no section {s:?} in this tenant (import courses first)"),
        },
    ];
    if format == Format::Platform {
        // The platform takes the first of several sections with the name;
        // k12ctl refuses to guess.
        checks.push(Check {
            column,
            sql: "SELECT line, format('%s sections are named \"%s\"', sections_found, section) \
                  FROM k12ctl_rows WHERE sections_found > 1"
                .into(),
            reason: |what| {
                format!("{what} in this tenant: rename them so that each name is unique")
            },
        });
    }
    let mut write = vec![enrollment.sql(
        catalog,
        &format!(
            "FROM k12ctl_rows r WHERE r.old_role IS DISTINCT FROM r.role ORDER BY r.line \
             ON CONFLICT (user_id, section_id) DO UPDATE \
               SET role = EXCLUDED.role, updated_at = {NOW_UTC} \
               WHERE enrollments.role IS DISTINCT FROM EXCLUDED.role"
        ),
    )];
    // Counter caches: exact counts of the sections and courses touched.
    write.extend(enrollment_counters(
        catalog,
        "SELECT section_id FROM k12ctl_rows",
        "SELECT course_id FROM k12ctl_rows",
    ));
    Statements {
        resolve: vec![format!(
            "CREATE TEMP TABLE k12ctl_rows ON COMMIT DROP AS \
             SELECT s.*, u.id AS user_id, x.id AS section_id, x.course_id, x.n AS sections_found, \
                    e.role AS old_role \
             FROM k12ctl_stage s \
             LEFT JOIN users u ON u.tenant_id = {t} AND u.email = s.email \
             LEFT JOIN LATERAL (SELECT min(id) AS id, min(course_id) AS course_id, count(*) AS n \
               FROM sections WHERE tenant_id = {t} AND {section_column} = s.section) x ON true \
             LEFT JOIN enrollments e ON e.user_id = u.id AND e.section_id = x.id; \
             ANALYZE k12ctl_rows"
        )],
        checks,
        counts: vec![(
            "enrollments",
            "SELECT count(*) FILTER (WHERE old_role IS NULL), \
                    count(*) FILTER (WHERE old_role IS DISTINCT FROM role AND old_role IS NOT NULL), \
                    count(*) FROM k12ctl_rows"
                .into(),
        )],
        write,
    }
}

/// The enrollment counter caches, where the database has them:
/// `sections.enrollments_count` of the sections `section_ids` selects and
/// `courses.enrollments_count` (enrollments through sections) of the courses
/// `course_ids` selects, both set to exact counts. They never bump
/// updated_at (Rails' update_counters), and only a real change writes a row.
pub fn enrollment_counters(catalog: &Catalog, section_ids: &str, course_ids: &str) -> Vec<String> {
    let mut write = Vec::new();
    if catalog.has("sections", "enrollments_count") {
        write.push(format!(
            "UPDATE sections x SET enrollments_count = n.n \
             FROM (SELECT s.id, count(e.id) AS n FROM sections s \
                   LEFT JOIN enrollments e ON e.section_id = s.id \
                   WHERE s.id IN ({section_ids}) GROUP BY s.id) n \
             WHERE x.id = n.id AND x.enrollments_count IS DISTINCT FROM n.n"
        ));
    }
    if catalog.has("courses", "enrollments_count") {
        write.push(format!(
            "UPDATE courses c SET enrollments_count = n.n \
             FROM (SELECT s.course_id, count(e.id) AS n FROM sections s \
                   LEFT JOIN enrollments e ON e.section_id = s.id \
                   WHERE s.course_id IN ({course_ids}) GROUP BY s.course_id) n \
             WHERE c.id = n.course_id AND c.enrollments_count IS DISTINCT FROM n.n"
        ));
    }
    write
}
