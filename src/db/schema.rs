//! Does the database have the platform tables and columns a command writes?
//! Asked before any write, so that a wrong DATABASE_URL or an unmigrated
//! database fails with a list of what is missing, not halfway through.

use anyhow::{Context, Result};
use tokio_postgres::Client;

/// (table, columns) a command needs.
pub type Needs = &'static [(&'static str, &'static [&'static str])];

const TIMESTAMPS: [&str; 2] = ["created_at", "updated_at"];

/// What `provision school` writes and `provision status` reads.
pub const PROVISION: Needs = &[
    (
        "tenants",
        &[
            "id",
            "name",
            "slug",
            "district",
            "timezone",
            "settings",
            "schools_count",
            "courses_count",
        ],
    ),
    ("schools", &["id", "tenant_id", "name", "timezone"]),
    ("roles", &["id", "tenant_id", "name"]),
    ("user_roles", &["id", "tenant_id", "user_id", "role_id"]),
    (
        "permissions",
        &[
            "id",
            "tenant_id",
            "role_id",
            "resource",
            "action",
            "granted",
        ],
    ),
    (
        "users",
        &["id", "tenant_id", "email", "first_name", "last_name"],
    ),
    (
        "academic_years",
        &[
            "id",
            "tenant_id",
            "name",
            "start_date",
            "end_date",
            "current",
        ],
    ),
    (
        "ai_task_policies",
        &[
            "id",
            "tenant_id",
            "created_by_id",
            "task_type",
            "enabled",
            "requires_approval",
            "allowed_roles",
        ],
    ),
    ("courses", &["id", "tenant_id"]),
    ("sections", &["id", "tenant_id"]),
    ("enrollments", &["id", "tenant_id"]),
];

/// What `import csv` writes.
pub const IMPORT: Needs = &[
    ("tenants", &["id", "slug", "courses_count"]),
    (
        "users",
        &["id", "tenant_id", "email", "first_name", "last_name"],
    ),
    ("roles", &["id", "tenant_id", "name"]),
    ("user_roles", &["id", "tenant_id", "user_id", "role_id"]),
    ("academic_years", &["id", "tenant_id", "name", "current"]),
    (
        "courses",
        &["id", "tenant_id", "academic_year_id", "code", "name"],
    ),
    (
        "sections",
        &[
            "id",
            "tenant_id",
            "course_id",
            "code",
            "name",
            "enrollments_count",
        ],
    ),
    (
        "enrollments",
        &["id", "tenant_id", "user_id", "section_id", "role"],
    ),
];

/// Fail with everything that is missing, in one message.
pub async fn require(client: &Client, needs: Needs) -> Result<()> {
    let tables: Vec<&str> = needs.iter().map(|(t, _)| *t).collect();
    let rows = client
        .query(
            "SELECT table_name::text, column_name::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = ANY($1)",
            &[&tables],
        )
        .await
        .context("cannot read the database's tables")?;
    let present: std::collections::BTreeSet<(String, String)> =
        rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let mut missing = Vec::new();
    for (table, columns) in needs {
        if !present.iter().any(|(t, _)| t == table) {
            missing.push(format!("table {table}"));
            continue;
        }
        // Every table k12ctl writes carries Rails' timestamps.
        for column in columns.iter().chain(&TIMESTAMPS) {
            if !present.contains(&((*table).to_owned(), (*column).to_owned())) {
                missing.push(format!("column {table}.{column}"));
            }
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let db: String = client
        .query_one("SELECT current_database()::text", &[])
        .await
        .map(|r| r.get(0))
        .unwrap_or_else(|_| "the database".into());
    anyhow::bail!(
        "{db} is not a platform database k12ctl can write to: missing {} (run the platform's \
         migrations, or load schema/lms.sql into a new database)",
        missing.join(", ")
    )
}
