//! Provisioning a school in the platform's tables, in one transaction, as
//! the platform's TenantProvisioningService does, and reading a tenant's
//! onboarding checklist as its OnboardingChecklistService computes it.
//!
//! Rails does not run for these writes: every row gets `created_at` and
//! `updated_at` (UTC, as Rails stores them) and the counter caches are set
//! here, in the same transaction. What is written follows the catalog
//! (`schema::Catalog`): a column the database lacks is not written, a
//! table it lacks (districts, provider configs, frameworks) is skipped.

use anyhow::{Context, Result};
use chrono::NaiveDate;
use serde::Serialize;
use tokio_postgres::{Client, GenericClient};

use super::insert::Insert;
use super::schema::{self, Catalog};
use crate::onboarding::defaults::{self, AiPolicy};
use crate::onboarding::rules::ROLES;
use crate::onboarding::school::SchoolSpec;

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
    /// The current (else the latest) academic year's name.
    pub academic_year: Option<String>,
    name: String,
    /// The district's slug.
    district: Option<String>,
    /// The first school's time zone (the tenant's, where it has one).
    timezone: Option<String>,
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
        field("timezone", self.timezone.as_deref(), Some(&spec.timezone));
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
pub async fn find(
    client: &impl GenericClient,
    catalog: &Catalog,
    slug: &str,
) -> Result<Option<Existing>> {
    let district = match Districts::of(catalog) {
        Districts::Table => "(SELECT slug::text FROM districts WHERE id = t.district_id)",
        Districts::Column => "t.district::text",
        Districts::None => "NULL::text",
    };
    let timezone = match (
        catalog.has("schools", "timezone"),
        catalog.has("tenants", "timezone"),
    ) {
        (true, true) => "coalesce(s.timezone, t.timezone)::text",
        (true, false) => "s.timezone::text",
        (false, true) => "t.timezone::text",
        (false, false) => "NULL::text",
    };
    let year_order = if catalog.has("academic_years", "current") {
        "current DESC NULLS LAST, start_date DESC, id"
    } else {
        "start_date DESC, id"
    };
    let school_timezone = if catalog.has("schools", "timezone") {
        ", timezone"
    } else {
        ""
    };
    let sql = format!(
        "SELECT t.id, t.name::text, {district}, {timezone}, \
           s.id, s.name::text, a.id, a.email::text, a.first_name::text, a.last_name::text, \
           y.start_date, y.name::text \
         FROM tenants t \
         LEFT JOIN LATERAL ( \
           SELECT id, name{school_timezone} FROM schools WHERE tenant_id = t.id ORDER BY id LIMIT 1) s ON true \
         LEFT JOIN LATERAL ( \
           SELECT u.id, u.email, u.first_name, u.last_name FROM users u \
           JOIN user_roles ur ON ur.user_id = u.id \
           JOIN roles r ON r.id = ur.role_id AND r.name = 'admin' \
           WHERE u.tenant_id = t.id ORDER BY u.id LIMIT 1) a ON true \
         LEFT JOIN LATERAL ( \
           SELECT name, start_date FROM academic_years WHERE tenant_id = t.id \
           ORDER BY {year_order} LIMIT 1) y ON true \
         WHERE t.slug = $1"
    );
    let row = client
        .query_opt(&sql, &[&slug])
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
    /// The tenant's district, found or created (platform schema).
    pub district_id: Option<i64>,
    pub role_ids: std::collections::BTreeMap<String, i64>,
    pub permissions: u64,
    /// The tenant's AI provider config, which the policies point at.
    pub ai_provider_config_id: Option<i64>,
    pub ai_policies: u64,
    pub standard_frameworks: u64,
}

#[derive(Debug)]
pub enum Outcome {
    Created(Created),
    /// Already provisioned with this spec: what the database holds.
    Unchanged(Existing),
    /// Provisioned with a different spec: the differences.
    Different(Vec<(&'static str, String)>),
}

/// Every insert provisioning makes, for the check before writing; the
/// district only when one is to be created.
fn inserts(create_district: bool) -> Vec<Insert> {
    let mut all = vec![
        tenant_insert(),
        school_insert(),
        role_insert(),
        permission_insert(),
        user_insert(),
        user_role_insert(),
        academic_year_insert(),
        provider_insert(),
        policy_insert(),
        framework_insert(),
    ];
    if create_district {
        all.push(district_insert());
    }
    all
}

/// Refuse before any write when this database lacks what provisioning
/// needs, or has a NOT NULL column provisioning cannot fill.
pub fn check(catalog: &Catalog, create_district: bool) -> Result<()> {
    catalog.require(schema::PROVISION)?;
    let writes: Vec<(&str, Vec<&str>)> = inserts(create_district)
        .iter()
        .filter(|i| catalog.has_table(i.table()))
        .map(|i| (i.table(), i.columns(catalog)))
        .collect();
    catalog.check_writes("provisioning", &writes)
}

/// How the database records a tenant's district.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Districts {
    /// `tenants.district_id` -> `districts(slug, name)`: the platform.
    Table,
    /// A `tenants.district` text column (the task documents' schema).
    Column,
    None,
}

impl Districts {
    pub fn of(catalog: &Catalog) -> Self {
        if catalog.has("tenants", "district_id") && catalog.has("districts", "slug") {
            Self::Table
        } else if catalog.has("tenants", "district") {
            Self::Column
        } else {
            Self::None
        }
    }
}

/// The id of the district with this slug, if any.
pub async fn district_id(client: &impl GenericClient, slug: &str) -> Result<Option<i64>> {
    Ok(client
        .query_opt("SELECT id FROM districts WHERE slug = $1", &[&slug])
        .await
        .with_context(|| format!("cannot look up district {slug:?}"))?
        .map(|r| r.get(0)))
}

/// The subdomain of another tenant that already has a user with this email
/// (the platform registers an admin email once across tenants).
pub async fn email_taken(
    client: &impl GenericClient,
    email: &str,
    slug: &str,
) -> Result<Option<String>> {
    Ok(client
        .query_opt(
            "SELECT t.slug::text FROM users u JOIN tenants t ON t.id = u.tenant_id \
             WHERE lower(u.email) = lower($1) AND t.slug <> $2 ORDER BY t.id LIMIT 1",
            &[&email, &slug],
        )
        .await
        .context("cannot look up the admin email")?
        .map(|r| r.get(0)))
}

/// Provision one school in one transaction: everything or nothing. Under a
/// lock on the subdomain, so that concurrent runs cannot race.
pub async fn provision(
    client: &mut Client,
    catalog: &Catalog,
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
    if let Some(existing) = find(&tx, catalog, &spec.subdomain).await? {
        let d = existing.differences(spec);
        return Ok(if d.is_empty() {
            Outcome::Unchanged(existing)
        } else {
            Outcome::Different(d)
        });
    }
    let created = create(&tx, catalog, spec, policies).await?;
    tx.commit()
        .await
        .map_err(writing("the transaction (commit)"))?;
    Ok(Outcome::Created(created))
}

fn district_insert() -> Insert {
    Insert::into("districts")
        .value("name", "p.name")
        .value("slug", "p.slug")
}

fn tenant_insert() -> Insert {
    Insert::into("tenants")
        .value("name", "p.name")
        .value("slug", "p.slug")
        .value("settings", "p.settings")
        .value("district_id", "p.district_id")
        .value("district", "p.district")
        .value("timezone", "p.timezone")
}

fn school_insert() -> Insert {
    Insert::into("schools")
        .value("tenant_id", "p.tenant_id")
        .value("name", "p.name")
        .value("timezone", "p.timezone")
}

fn role_insert() -> Insert {
    Insert::into("roles")
        .value("tenant_id", "p.tenant_id")
        .value("name", "x.name")
}

fn permission_insert() -> Insert {
    Insert::into("permissions")
        .value("tenant_id", "p.tenant_id")
        .value("role_id", "r.id")
        .value("resource", "g.resource")
        .value("action", "g.action")
        .value("granted", "true")
}

fn user_insert() -> Insert {
    Insert::into("users")
        .value("tenant_id", "p.tenant_id")
        .value("email", "p.email")
        .value("first_name", "p.first_name")
        .value("last_name", "p.last_name")
}

fn user_role_insert() -> Insert {
    Insert::into("user_roles")
        .value("tenant_id", "p.tenant_id")
        .value("user_id", "p.user_id")
        .value("role_id", "r.id")
}

fn academic_year_insert() -> Insert {
    Insert::into("academic_years")
        .value("tenant_id", "p.tenant_id")
        .value("name", "p.name")
        .value("start_date", "p.start_date")
        .value("end_date", "p.end_date")
        .value("current", "true")
}

fn provider_insert() -> Insert {
    Insert::into("ai_provider_configs")
        .value("tenant_id", "p.tenant_id")
        .value("created_by_id", "p.user_id")
        .value("provider_name", "p.provider")
        .value("display_name", "p.display_name")
        .value("default_model", "p.model")
        .value("available_models", "jsonb_build_array(p.model)")
        .value("status", "'active'")
        .value("settings", "'{}'::jsonb")
}

fn policy_insert() -> Insert {
    Insert::into("ai_task_policies")
        .value("tenant_id", "p.tenant_id")
        .value("ai_provider_config_id", "p.provider_id")
        .value("created_by_id", "p.user_id")
        .value("task_type", "x.task_type")
        .value("enabled", "x.enabled")
        .value("requires_approval", "x.requires_approval")
        .value("allowed_roles", "x.allowed_roles::jsonb")
}

fn framework_insert() -> Insert {
    Insert::into("standard_frameworks")
        .value("tenant_id", "p.tenant_id")
        .value("name", "x.name")
        .value("jurisdiction", "p.jurisdiction")
}

async fn create(
    tx: &tokio_postgres::Transaction<'_>,
    catalog: &Catalog,
    spec: &SchoolSpec,
    policies: &[AiPolicy],
) -> Result<Created> {
    let one = |rows: Vec<tokio_postgres::Row>| -> i64 { rows.first().map_or(0, |r| r.get(0)) };
    let district_id = match (Districts::of(catalog), &spec.district) {
        (Districts::Table, Some(slug)) => match district_id(tx, slug).await? {
            Some(id) => Some(id),
            None => {
                let name = spec.create_district.as_deref().unwrap_or(slug);
                let sql = district_insert().sql(
                    catalog,
                    "FROM (SELECT $1::text AS name, $2::text AS slug) p RETURNING id",
                );
                Some(one(tx
                    .query(&sql, &[&name, slug])
                    .await
                    .map_err(writing("districts"))?))
            }
        },
        _ => None,
    };
    let settings = defaults::tenant_settings(&spec.name).to_string();
    let sql = tenant_insert().sql(
        catalog,
        "FROM (SELECT $1::text AS name, $2::text AS slug, $3::text::jsonb AS settings, \
           $4::bigint AS district_id, $5::text AS district, $6::text AS timezone) p RETURNING id",
    );
    let tenant_id = one(tx
        .query(
            &sql,
            &[
                &spec.name,
                &spec.subdomain,
                &settings,
                &district_id,
                &spec.district,
                &spec.timezone,
            ],
        )
        .await
        .map_err(writing("tenants"))?);
    let sql = school_insert().sql(
        catalog,
        "FROM (SELECT $1::bigint AS tenant_id, $2::text AS name, $3::text AS timezone) p \
         RETURNING id",
    );
    let school_id = one(tx
        .query(&sql, &[&tenant_id, &spec.name, &spec.timezone])
        .await
        .map_err(writing("schools"))?);
    let role_names: Vec<&str> = ROLES.to_vec();
    let sql = role_insert().sql(
        catalog,
        "FROM (SELECT $1::bigint AS tenant_id) p, \
           unnest($2::text[]) WITH ORDINALITY AS x(name, n) ORDER BY x.n RETURNING name::text, id",
    );
    let role_ids = tx
        .query(&sql, &[&tenant_id, &role_names])
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
    let sql = permission_insert().sql(
        catalog,
        "FROM (SELECT $1::bigint AS tenant_id) p, \
           unnest($2::text[], $3::text[], $4::text[]) AS g(role, resource, action) \
         JOIN roles r ON r.tenant_id = $1 AND r.name = g.role",
    );
    let permissions = tx
        .execute(&sql, &[&tenant_id, &g_role, &g_resource, &g_action])
        .await
        .map_err(writing("permissions"))?;
    let sql = user_insert().sql(
        catalog,
        "FROM (SELECT $1::bigint AS tenant_id, $2::text AS email, $3::text AS first_name, \
           $4::text AS last_name) p RETURNING id",
    );
    let admin_user_id = one(tx
        .query(
            &sql,
            &[
                &tenant_id,
                &spec.admin_email,
                &spec.admin_first_name,
                &spec.admin_last_name,
            ],
        )
        .await
        .map_err(writing("users"))?);
    let sql = user_role_insert().sql(
        catalog,
        "FROM (SELECT $1::bigint AS tenant_id, $2::bigint AS user_id) p \
         JOIN roles r ON r.tenant_id = p.tenant_id AND r.name = 'admin'",
    );
    tx.execute(&sql, &[&tenant_id, &admin_user_id])
        .await
        .map_err(writing("user_roles"))?;
    let year = &spec.academic_year;
    let sql = academic_year_insert().sql(
        catalog,
        "FROM (SELECT $1::bigint AS tenant_id, $2::text AS name, $3::date AS start_date, \
           $4::date AS end_date) p RETURNING id",
    );
    let academic_year_id = one(tx
        .query(
            &sql,
            &[&tenant_id, &year.name, &year.start_date, &year.end_date],
        )
        .await
        .map_err(writing("academic_years"))?);
    let ai_provider_config_id = if catalog.has_table("ai_provider_configs") {
        let (provider, display_name, model) = defaults::AI_PROVIDER;
        let sql = provider_insert().sql(
            catalog,
            "FROM (SELECT $1::bigint AS tenant_id, $2::bigint AS user_id, $3::text AS provider, \
               $4::text AS display_name, $5::text AS model) p RETURNING id",
        );
        Some(one(tx
            .query(
                &sql,
                &[&tenant_id, &admin_user_id, &provider, &display_name, &model],
            )
            .await
            .map_err(writing("ai_provider_configs"))?))
    } else {
        None
    };
    let ai_policies = insert_policies(
        tx,
        catalog,
        tenant_id,
        admin_user_id,
        ai_provider_config_id,
        policies,
    )
    .await?;
    let standard_frameworks = if catalog.has_table("standard_frameworks") {
        let names = defaults::STANDARD_FRAMEWORKS.to_vec();
        let sql = framework_insert().sql(
            catalog,
            "FROM (SELECT $1::bigint AS tenant_id, $2::text AS jurisdiction) p, \
               unnest($3::text[]) WITH ORDINALITY AS x(name, n) ORDER BY x.n",
        );
        tx.execute(
            &sql,
            &[&tenant_id, &defaults::FRAMEWORK_JURISDICTION, &names],
        )
        .await
        .map_err(writing("standard_frameworks"))?
    } else {
        0
    };
    update_tenant_counters(tx, catalog, tenant_id).await?;
    Ok(Created {
        tenant_id,
        school_id,
        admin_user_id,
        academic_year_id,
        district_id,
        role_ids,
        permissions,
        ai_provider_config_id,
        ai_policies,
        standard_frameworks,
    })
}

async fn insert_policies(
    tx: &tokio_postgres::Transaction<'_>,
    catalog: &Catalog,
    tenant_id: i64,
    admin_user_id: i64,
    provider_id: Option<i64>,
    policies: &[AiPolicy],
) -> Result<u64> {
    let p_type: Vec<&str> = policies.iter().map(|p| p.task_type.as_str()).collect();
    let p_enabled: Vec<bool> = policies.iter().map(|p| p.enabled).collect();
    let p_approval: Vec<bool> = policies.iter().map(|p| p.requires_approval).collect();
    let p_roles: Vec<String> = policies
        .iter()
        .map(|p| serde_json::Value::from(p.allowed_roles.clone()).to_string())
        .collect();
    let sql = policy_insert().sql(
        catalog,
        "FROM (SELECT $1::bigint AS tenant_id, $2::bigint AS user_id, $3::bigint AS provider_id) p, \
           unnest($4::text[], $5::bool[], $6::bool[], $7::text[]) \
             WITH ORDINALITY AS x(task_type, enabled, requires_approval, allowed_roles, n) \
         ORDER BY x.n",
    );
    tx.execute(
        &sql,
        &[
            &tenant_id,
            &admin_user_id,
            &provider_id,
            &p_type,
            &p_enabled,
            &p_approval,
            &p_roles,
        ],
    )
    .await
    .map_err(writing("ai_task_policies"))
}

/// `tenants.schools_count` and `courses_count` from real counts, where the
/// database has these counter caches. Counter caches never touch
/// `updated_at` (Rails' update_counters).
pub async fn update_tenant_counters(
    tx: &impl GenericClient,
    catalog: &Catalog,
    tenant_id: i64,
) -> Result<()> {
    let counters: Vec<(&str, String)> =
        [("schools_count", "schools"), ("courses_count", "courses")]
            .into_iter()
            .filter(|(column, _)| catalog.has("tenants", column))
            .map(|(column, table)| {
                (
                    column,
                    format!("(SELECT count(*) FROM {table} WHERE tenant_id = $1)"),
                )
            })
            .collect();
    if counters.is_empty() {
        return Ok(());
    }
    let sets: Vec<String> = counters.iter().map(|(c, n)| format!("{c} = {n}")).collect();
    let columns: Vec<&str> = counters.iter().map(|(c, _)| *c).collect();
    let counts: Vec<&str> = counters.iter().map(|(_, n)| n.as_str()).collect();
    // Only a real change writes the row.
    tx.execute(
        &format!(
            "UPDATE tenants SET {} WHERE id = $1 AND ({}) IS DISTINCT FROM ({})",
            sets.join(", "),
            columns.join(", "),
            counts.join(", "),
        ),
        &[&tenant_id],
    )
    .await
    .map_err(writing("tenants counters"))?;
    Ok(())
}

/// A failed write, named by the table and with the server's message.
fn writing(table: &'static str) -> impl FnOnce(tokio_postgres::Error) -> anyhow::Error {
    move |e| anyhow::anyhow!("writing {table}: {}", super::describe_error(&e))
}

/// One item of the onboarding checklist, as OnboardingChecklistService
/// returns it.
#[derive(Debug, Clone, Serialize)]
pub struct ChecklistItem {
    pub key: &'static str,
    pub label: &'static str,
    pub done: bool,
    pub required: bool,
}

/// OnboardingChecklistService's answer, key for key.
#[derive(Debug, Clone, Serialize)]
pub struct Checklist {
    pub tenant_id: i64,
    pub school_name: String,
    pub completion_percentage: u32,
    pub completed_count: usize,
    pub total_count: usize,
    pub items: Vec<ChecklistItem>,
}

/// The service's ten items: (key, label, required, the rule as SQL over
/// tenant `t`), in its order. `None`: the rule's table or column is not in
/// this database, so the item cannot be done.
fn checklist_rules(catalog: &Catalog) -> [(&'static str, &'static str, bool, Option<String>); 10] {
    let has_role = |role: &str| {
        Some(format!(
            "EXISTS (SELECT 1 FROM users u JOIN user_roles ur ON ur.user_id = u.id \
               JOIN roles r ON r.id = ur.role_id \
             WHERE u.tenant_id = t.id AND r.name = '{role}')"
        ))
    };
    let exists = |table: &str| {
        catalog
            .has(table, "tenant_id")
            .then(|| format!("EXISTS (SELECT 1 FROM {table} WHERE tenant_id = t.id)"))
    };
    let settings = catalog.has("tenants", "settings");
    [
        ("admin_created", "Admin account created", true, has_role("admin")),
        ("school_configured", "School settings configured", true, exists("schools")),
        ("academic_year", "Academic year and terms set up", true, exists("academic_years")),
        ("teachers_added", "At least one teacher added", true, has_role("teacher")),
        ("students_added", "Students enrolled", false, has_role("student")),
        ("course_created", "At least one course created", false, exists("courses")),
        ("standards_imported", "Standards imported", false, exists("standards")),
        (
            "google_configured",
            "Google integration configured",
            false,
            settings.then(|| {
                "coalesce(t.settings::jsonb #> '{features,google_integration}' = 'true'::jsonb, false)"
                    .to_owned()
            }),
        ),
        ("ai_configured", "AI policies configured", true, exists("ai_task_policies")),
        (
            "branding_set",
            "School branding customized",
            false,
            // Rails' present?: not nil and not only whitespace.
            settings.then(|| {
                "coalesce(btrim(t.settings::jsonb #>> '{branding,logo_url}') <> '', false)"
                    .to_owned()
            }),
        ),
    ]
}

/// OnboardingChecklistService's checklist for a tenant; None if no tenant
/// has the subdomain.
pub async fn checklist(
    client: &impl GenericClient,
    catalog: &Catalog,
    slug: &str,
) -> Result<Option<Checklist>> {
    let rules = checklist_rules(catalog);
    let columns: Vec<String> = rules
        .iter()
        .map(|(_, _, _, sql)| sql.clone().unwrap_or_else(|| "false".to_owned()))
        .collect();
    let sql = format!(
        "SELECT t.id, t.name::text, {} FROM tenants t WHERE t.slug = $1",
        columns.join(", ")
    );
    let row = client
        .query_opt(&sql, &[&slug])
        .await
        .with_context(|| format!("cannot read the onboarding state of {slug:?}"))?;
    let Some(r) = row else { return Ok(None) };
    let items: Vec<ChecklistItem> = rules
        .iter()
        .enumerate()
        .map(|(i, (key, label, required, _))| ChecklistItem {
            key,
            label,
            done: r.get(i + 2),
            required: *required,
        })
        .collect();
    let completed_count = items.iter().filter(|i| i.done).count();
    let total_count = items.len();
    Ok(Some(Checklist {
        tenant_id: r.get(0),
        school_name: r.get(1),
        completion_percentage: percentage(completed_count, total_count),
        completed_count,
        total_count,
        items,
    }))
}

/// `((completed.to_f / total) * 100).round`: Ruby rounds half away from zero.
fn percentage(completed: usize, total: usize) -> u32 {
    if total == 0 {
        return 0;
    }
    (completed as f64 / total as f64 * 100.0).round() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_round_as_ruby_does() {
        assert_eq!(percentage(0, 0), 0);
        assert_eq!(percentage(8, 10), 80);
        assert_eq!(percentage(1, 8), 13);
        assert_eq!(percentage(2, 3), 67);
    }

    #[test]
    fn checklist_items_without_their_table_cannot_be_done() {
        let catalog = Catalog::from_columns(&[("tenants", "id", true, true)]);
        let rules = checklist_rules(&catalog);
        let keys: Vec<&str> = rules.iter().map(|r| r.0).collect();
        assert_eq!(
            keys,
            [
                "admin_created",
                "school_configured",
                "academic_year",
                "teachers_added",
                "students_added",
                "course_created",
                "standards_imported",
                "google_configured",
                "ai_configured",
                "branding_set"
            ]
        );
        let standards = &rules[6].3;
        assert!(standards.is_none());
    }
}
