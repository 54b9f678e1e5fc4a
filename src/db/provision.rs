//! Provisioning a school in the platform's tables, in one transaction, and
//! reading a tenant's onboarding checklist.
//!
//! Rails does not run for these writes: every row gets `created_at` and
//! `updated_at` (UTC, as Rails stores them) and the counter caches are set
//! here, in the same transaction.

use anyhow::{Context, Result};
use chrono::NaiveDate;
use serde::Serialize;
use tokio_postgres::{Client, GenericClient};

use crate::onboarding::defaults::{self, AiPolicy};
use crate::onboarding::rules::ROLES;
use crate::onboarding::school::SchoolSpec;

/// Rails' timestamps: UTC in a zone-less column; constant in a transaction.
pub const NOW_UTC: &str = "(now() AT TIME ZONE 'UTC')";

/// First key of provisioning's transaction-level advisory lock ("k12p").
const LOCK_CLASS: i32 = 0x6b31_3270;

/// A tenant that already has the subdomain, as provisioning left it.
#[derive(Debug, Clone)]
pub struct Existing {
    pub tenant_id: i64,
    /// The first school's id.
    pub school_id: Option<i64>,
    /// The first administrator's id.
    pub admin_user_id: Option<i64>,
    /// The current academic year's name.
    pub academic_year: Option<String>,
    name: String,
    district: Option<String>,
    timezone: String,
    school_name: Option<String>,
    /// The first administrator: (email, first name, last name).
    admin: Option<(String, Option<String>, Option<String>)>,
    current_year_start: Option<NaiveDate>,
}

impl Existing {
    /// How `spec` differs from what the database holds: (field, difference).
    pub fn differences(&self, spec: &SchoolSpec) -> Vec<(&'static str, String)> {
        let mut d = Vec::new();
        let mut field = |name: &'static str, db: Option<&str>, wanted: Option<&str>| {
            if db != wanted {
                d.push((
                    name,
                    format!("{} in the database, {} requested", shown(db), shown(wanted)),
                ));
            }
        };
        field("name", Some(&self.name), Some(&spec.name));
        field(
            "district",
            self.district.as_deref(),
            spec.district.as_deref(),
        );
        field("timezone", Some(&self.timezone), Some(&spec.timezone));
        field("school", self.school_name.as_deref(), Some(&spec.name));
        let (email, first, last) = match &self.admin {
            Some((e, f, l)) => (Some(e.as_str()), f.as_deref(), l.as_deref()),
            None => (None, None, None),
        };
        field("admin_email", email, Some(&spec.admin_email));
        field("admin_first_name", first, Some(&spec.admin_first_name));
        field("admin_last_name", last, Some(&spec.admin_last_name));
        if spec.academic_year_given {
            let db = self.current_year_start.map(|d| d.to_string());
            let wanted = spec.academic_year.start_date.to_string();
            field("academic_year_start", db.as_deref(), Some(&wanted));
        }
        d
    }
}

fn shown(v: Option<&str>) -> String {
    v.map_or_else(|| "none".to_owned(), |v| format!("{v:?}"))
}

/// The tenant with this subdomain, if any.
pub async fn find(client: &impl GenericClient, slug: &str) -> Result<Option<Existing>> {
    let row = client
        .query_opt(
            "SELECT t.id, t.name::text, t.district::text, t.timezone::text, \
               s.id, s.name::text, a.id, a.email::text, a.first_name::text, a.last_name::text, \
               y.start_date, y.name::text \
             FROM tenants t \
             LEFT JOIN LATERAL ( \
               SELECT id, name FROM schools WHERE tenant_id = t.id ORDER BY id LIMIT 1) s ON true \
             LEFT JOIN LATERAL ( \
               SELECT u.id, u.email, u.first_name, u.last_name FROM users u \
               JOIN user_roles ur ON ur.user_id = u.id \
               JOIN roles r ON r.id = ur.role_id AND r.name = 'admin' \
               WHERE u.tenant_id = t.id ORDER BY u.id LIMIT 1) a ON true \
             LEFT JOIN academic_years y ON y.tenant_id = t.id AND y.current \
             WHERE t.slug = $1",
            &[&slug],
        )
        .await
        .with_context(|| format!("cannot look up tenant {slug:?}"))?;
    Ok(row.map(|r| Existing {
        tenant_id: r.get(0),
        name: r.get(1),
        district: r.get(2),
        timezone: r.get(3),
        school_id: r.get(4),
        school_name: r.get(5),
        admin_user_id: r.get(6),
        admin: r
            .get::<_, Option<String>>(7)
            .map(|e| (e, r.get(8), r.get(9))),
        current_year_start: r.get(10),
        academic_year: r.get(11),
    }))
}

/// Time zones PostgreSQL does not know, among `zones`.
pub async fn unknown_timezones(client: &Client, zones: &[String]) -> Result<Vec<String>> {
    let rows = client
        .query(
            "SELECT z FROM unnest($1::text[]) AS z \
             WHERE NOT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = z)",
            &[&zones],
        )
        .await
        .context("cannot check time zones")?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// What one provisioning created.
#[derive(Debug, Clone, Serialize)]
pub struct Created {
    pub tenant_id: i64,
    pub school_id: i64,
    pub admin_user_id: i64,
    pub academic_year_id: i64,
    pub role_ids: std::collections::BTreeMap<String, i64>,
    pub permissions: u64,
    pub ai_policies: u64,
}

#[derive(Debug)]
pub enum Outcome {
    Created(Created),
    /// Already provisioned with this spec: what the database holds.
    Unchanged(Existing),
    /// Provisioned with a different spec: the differences.
    Different(Vec<(&'static str, String)>),
}

/// Provision one school in one transaction: everything or nothing. Under a
/// lock on the subdomain, so that concurrent runs cannot race.
pub async fn provision(
    client: &mut Client,
    spec: &SchoolSpec,
    policies: &[AiPolicy],
) -> Result<Outcome> {
    let tx = client.transaction().await?;
    tx.execute(
        "SELECT pg_advisory_xact_lock($1, hashtext($2))",
        &[&LOCK_CLASS, &spec.subdomain],
    )
    .await
    .context("cannot take the provisioning lock")?;
    if let Some(existing) = find(&tx, &spec.subdomain).await? {
        let d = existing.differences(spec);
        return Ok(if d.is_empty() {
            Outcome::Unchanged(existing)
        } else {
            Outcome::Different(d)
        });
    }
    let created = create(&tx, spec, policies).await?;
    tx.commit()
        .await
        .map_err(writing("the transaction (commit)"))?;
    Ok(Outcome::Created(created))
}

async fn create(
    tx: &tokio_postgres::Transaction<'_>,
    spec: &SchoolSpec,
    policies: &[AiPolicy],
) -> Result<Created> {
    let tenant_id: i64 = tx
        .query_one(
            &format!(
                "INSERT INTO tenants (name, slug, district, timezone, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, {NOW_UTC}, {NOW_UTC}) RETURNING id"
            ),
            &[&spec.name, &spec.subdomain, &spec.district, &spec.timezone],
        )
        .await
        .map_err(writing("tenants"))?
        .get(0);
    let school_id: i64 = tx
        .query_one(
            &format!(
                "INSERT INTO schools (tenant_id, name, timezone, created_at, updated_at) \
                 VALUES ($1, $2, $3, {NOW_UTC}, {NOW_UTC}) RETURNING id"
            ),
            &[&tenant_id, &spec.name, &spec.timezone],
        )
        .await
        .map_err(writing("schools"))?
        .get(0);
    let role_names: Vec<&str> = ROLES.to_vec();
    let role_ids = tx
        .query(
            &format!(
                "INSERT INTO roles (tenant_id, name, created_at, updated_at) \
                 SELECT $1, r, {NOW_UTC}, {NOW_UTC} FROM unnest($2::text[]) WITH ORDINALITY AS x(r, n) \
                 ORDER BY n RETURNING name::text, id"
            ),
            &[&tenant_id, &role_names],
        )
        .await
        .map_err(writing("roles"))?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let grants = defaults::permissions();
    let (g_role, g_resource, g_action): (Vec<&str>, Vec<&str>, Vec<&str>) = (
        grants.iter().map(|g| g.0).collect(),
        grants.iter().map(|g| g.1).collect(),
        grants.iter().map(|g| g.2).collect(),
    );
    let permissions = tx
        .execute(
            &format!(
                "INSERT INTO permissions (tenant_id, role_id, resource, action, granted, created_at, updated_at) \
                 SELECT $1, r.id, g.resource, g.action, true, {NOW_UTC}, {NOW_UTC} \
                 FROM unnest($2::text[], $3::text[], $4::text[]) AS g(role, resource, action) \
                 JOIN roles r ON r.tenant_id = $1 AND r.name = g.role"
            ),
            &[&tenant_id, &g_role, &g_resource, &g_action],
        )
        .await
        .map_err(writing("permissions"))?;
    let admin_user_id: i64 = tx
        .query_one(
            &format!(
                "INSERT INTO users (tenant_id, email, first_name, last_name, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, {NOW_UTC}, {NOW_UTC}) RETURNING id"
            ),
            &[
                &tenant_id,
                &spec.admin_email,
                &spec.admin_first_name,
                &spec.admin_last_name,
            ],
        )
        .await
        .map_err(writing("users"))?
        .get(0);
    tx.execute(
        &format!(
            "INSERT INTO user_roles (tenant_id, user_id, role_id, created_at, updated_at) \
             SELECT $1, $2, id, {NOW_UTC}, {NOW_UTC} FROM roles WHERE tenant_id = $1 AND name = 'admin'"
        ),
        &[&tenant_id, &admin_user_id],
    )
    .await
    .map_err(writing("user_roles"))?;
    let year = &spec.academic_year;
    let academic_year_id: i64 = tx
        .query_one(
            &format!(
                "INSERT INTO academic_years (tenant_id, name, start_date, end_date, current, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, true, {NOW_UTC}, {NOW_UTC}) RETURNING id"
            ),
            &[&tenant_id, &year.name, &year.start_date, &year.end_date],
        )
        .await
        .map_err(writing("academic_years"))?
        .get(0);
    let p_type: Vec<&str> = policies.iter().map(|p| p.task_type.as_str()).collect();
    let p_enabled: Vec<bool> = policies.iter().map(|p| p.enabled).collect();
    let p_approval: Vec<bool> = policies.iter().map(|p| p.requires_approval).collect();
    let p_roles: Vec<String> = policies
        .iter()
        .map(|p| serde_json::Value::from(p.allowed_roles.clone()).to_string())
        .collect();
    let ai_policies = tx
        .execute(
            &format!(
                "INSERT INTO ai_task_policies (tenant_id, created_by_id, task_type, enabled, \
                   requires_approval, allowed_roles, created_at, updated_at) \
                 SELECT $1, $2, t, e, a, r::jsonb, {NOW_UTC}, {NOW_UTC} \
                 FROM unnest($3::text[], $4::bool[], $5::bool[], $6::text[]) AS p(t, e, a, r)"
            ),
            &[
                &tenant_id,
                &admin_user_id,
                &p_type,
                &p_enabled,
                &p_approval,
                &p_roles,
            ],
        )
        .await
        .map_err(writing("ai_task_policies"))?;
    // Counter caches, from real counts (a new tenant: one school, no course).
    tx.execute(
        "UPDATE tenants SET \
           schools_count = (SELECT count(*) FROM schools WHERE tenant_id = $1), \
           courses_count = (SELECT count(*) FROM courses WHERE tenant_id = $1) \
         WHERE id = $1",
        &[&tenant_id],
    )
    .await
    .map_err(writing("tenants counters"))?;
    Ok(Created {
        tenant_id,
        school_id,
        admin_user_id,
        academic_year_id,
        role_ids,
        permissions,
        ai_policies,
    })
}

/// A failed write, named by the table and with the server's message.
fn writing(table: &'static str) -> impl FnOnce(tokio_postgres::Error) -> anyhow::Error {
    move |e| anyhow::anyhow!("writing {table}: {}", super::describe_error(&e))
}

/// One item of the onboarding checklist.
#[derive(Debug, Clone, Serialize)]
pub struct ChecklistItem {
    pub item: &'static str,
    pub done: bool,
    /// How many rows back the item (roles: of the five).
    pub count: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Checklist {
    pub tenant_id: i64,
    pub name: String,
    pub subdomain: String,
    pub items: Vec<ChecklistItem>,
}

/// `OnboardingChecklistService`'s ten items for a tenant; None if no tenant
/// has the subdomain.
pub async fn checklist(client: &Client, slug: &str) -> Result<Option<Checklist>> {
    let row = client
        .query_opt(
            "SELECT t.id, t.name::text, \
               (SELECT count(*) FROM schools WHERE tenant_id = t.id), \
               (SELECT count(DISTINCT ur.user_id) FROM user_roles ur JOIN roles r ON r.id = ur.role_id \
                 WHERE ur.tenant_id = t.id AND r.name = 'admin'), \
               (SELECT count(*) FROM academic_years WHERE tenant_id = t.id AND current), \
               (SELECT count(DISTINCT name) FROM roles WHERE tenant_id = t.id AND name = ANY($2)), \
               (SELECT count(*) FROM ai_task_policies WHERE tenant_id = t.id), \
               (SELECT count(DISTINCT ur.user_id) FROM user_roles ur JOIN roles r ON r.id = ur.role_id \
                 WHERE ur.tenant_id = t.id AND r.name = 'teacher'), \
               (SELECT count(DISTINCT ur.user_id) FROM user_roles ur JOIN roles r ON r.id = ur.role_id \
                 WHERE ur.tenant_id = t.id AND r.name = 'student'), \
               (SELECT count(*) FROM courses WHERE tenant_id = t.id), \
               (SELECT count(*) FROM sections WHERE tenant_id = t.id), \
               (SELECT count(*) FROM enrollments WHERE tenant_id = t.id) \
             FROM tenants t WHERE t.slug = $1",
            &[&slug, &ROLES.to_vec()],
        )
        .await
        .with_context(|| format!("cannot read the onboarding state of {slug:?}"))?;
    let Some(r) = row else { return Ok(None) };
    let names = [
        "school",
        "admin",
        "academic_year",
        "roles",
        "ai_policies",
        "teachers_imported",
        "students_imported",
        "courses",
        "sections",
        "enrollments",
    ];
    let items = names
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let count: i64 = r.get(i + 2);
            let done = if *item == "roles" {
                count == ROLES.len() as i64
            } else {
                count > 0
            };
            ChecklistItem { item, done, count }
        })
        .collect();
    Ok(Some(Checklist {
        tenant_id: r.get(0),
        name: r.get(1),
        subdomain: slug.to_owned(),
        items,
    }))
}
