//! `provision school` and `provision status`: the platform's
//! TenantProvisioningService and OnboardingChecklistService as commands.
//!
//! Runbook: read the schools (flags or a YAML file) and validate them all;
//! check the database has the platform's tables; compare each with what an
//! existing tenant of that subdomain holds; then provision each school in its
//! own transaction. Any invalid entry stops everything before the first write.

use anyhow::{Context as _, Result};
use serde::Serialize;

use super::Context;
use crate::cli::{ProvisionSchoolArgs, ProvisionStatusArgs};
use crate::db::provision::{self as db, Checklist, Created, Existing, Outcome};
use crate::db::schema::{self, Catalog};
use crate::db::{self as pg};
use crate::exit;
use crate::onboarding::school::{self, Problem, SchoolInput, SchoolSpec};
use crate::output::printer::{Report, Style};
use crate::output::tables;

pub async fn school(ctx: &Context, args: ProvisionSchoolArgs) -> Result<()> {
    let from_file = args.file.is_some();
    let inputs = match &args.file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| exit::usage(format!("cannot read {}: {e}", path.display())))?;
            school::parse_file(&text)
                .map_err(|e| exit::rejected(format!("{}: {e}", path.display())))?
        }
        None => vec![SchoolInput {
            name: args.name,
            subdomain: args.subdomain,
            admin_email: args.admin_email,
            admin_first_name: args.admin_first_name,
            admin_last_name: args.admin_last_name,
            district: args.district,
            create_district: args.create_district,
            timezone: args.timezone,
            academic_year_start: args.academic_year_start,
        }],
    };
    let mut report = ProvisionReport {
        dry_run: args.dry_run,
        schools: Vec::new(),
        problems: Vec::new(),
    };
    let today = chrono::Utc::now().date_naive();
    let specs = match school::validate(&inputs, today, from_file) {
        Ok(specs) => specs,
        Err(problems) => return reject(ctx, report, problems),
    };

    let mut client = pg::connect(&ctx.conn()?, "k12ctl provision").await?;
    let catalog = Catalog::read(&client).await?;
    db::check(&catalog, specs.iter().any(|s| s.create_district.is_some()))?;
    let plan = plan(&client, &catalog, &specs, from_file).await?;
    let problems: Vec<Problem> = plan
        .iter()
        .filter_map(|p| p.1.clone().err())
        .flatten()
        .collect();
    if !problems.is_empty() {
        return reject(ctx, report, problems);
    }

    for (spec, existing) in &plan {
        let existing = existing.as_ref().ok().and_then(Option::as_ref);
        if args.dry_run {
            report.schools.push(SchoolResult::planned(
                spec,
                existing,
                &ctx.settings.ai_policies,
                &catalog,
            ));
            continue;
        }
        let outcome = db::provision(&mut client, &catalog, spec, &ctx.settings.ai_policies).await;
        let result = match outcome {
            Ok(Outcome::Created(created)) => Ok(SchoolResult::created(spec, created)),
            Ok(Outcome::Unchanged(existing)) => Ok(SchoolResult::unchanged(spec, &existing)),
            Ok(Outcome::Different(d)) => Err(exit::rejected(format!(
                "{} was provisioned by someone else meanwhile, differently: {}",
                spec.subdomain,
                d.iter()
                    .map(|(f, why)| format!("{f}: {why}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            ))),
            Err(e) => Err(e),
        };
        match result {
            Ok(r) => report.schools.push(r),
            Err(e) => {
                // Earlier schools are committed: say so, then fail.
                if !report.schools.is_empty() {
                    ctx.printer.print(&report)?;
                }
                return Err(e.context(format!(
                    "school {} was not provisioned, nothing of it was written{}",
                    spec.subdomain,
                    if report.schools.is_empty() {
                        String::new()
                    } else {
                        "; the schools listed were, and a re-run skips them".to_owned()
                    }
                )));
            }
        }
    }
    for r in report.schools.iter_mut().filter(|r| r.tenant_id.is_some()) {
        r.onboarding = db::checklist(&client, &catalog, &r.subdomain)
            .await?
            .map(|c| Completion::of(&c));
    }
    ctx.printer.print(&report)
}

/// Each spec with the existing tenant (if already provisioned the same), or
/// the problems that stop the run.
async fn plan<'a>(
    client: &tokio_postgres::Client,
    catalog: &Catalog,
    specs: &'a [SchoolSpec],
    from_file: bool,
) -> Result<Vec<(&'a SchoolSpec, Result<Option<Existing>, Vec<Problem>>)>> {
    let mut zones: Vec<String> = specs.iter().map(|s| s.timezone.clone()).collect();
    zones.sort();
    zones.dedup();
    let unknown = db::unknown_timezones(client, &zones).await?;
    // A district an entry of this run creates exists for the entries after it.
    let created: Vec<&str> = specs
        .iter()
        .filter(|s| s.create_district.is_some())
        .filter_map(|s| s.district.as_deref())
        .collect();
    let mut plan = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let entry = if from_file {
            format!("#{} ({})", i + 1, spec.subdomain)
        } else {
            spec.subdomain.clone()
        };
        let problem = |field: &str, reason: String| Problem {
            entry: entry.clone(),
            field: field.to_owned(),
            reason,
        };
        if unknown.contains(&spec.timezone) {
            plan.push((
                spec,
                Err(vec![problem(
                    "timezone",
                    format!(
                        "unknown time zone {:?} (an IANA name like America/Chicago)",
                        spec.timezone
                    ),
                )]),
            ));
            continue;
        }
        let status = match db::find(client, catalog, &spec.subdomain).await? {
            None => {
                let found = new_tenant_problems(client, catalog, spec, &created).await?;
                if found.is_empty() {
                    Ok(None)
                } else {
                    Err(found
                        .into_iter()
                        .map(|(field, why)| problem(field, why))
                        .collect())
                }
            }
            Some(existing) => {
                let d = existing.differences(spec);
                if d.is_empty() {
                    Ok(Some(existing))
                } else {
                    Err(d
                        .into_iter()
                        .map(|(field, why)| {
                            problem(field, format!("already provisioned differently: {why}"))
                        })
                        .collect())
                }
            }
        };
        plan.push((spec, status));
    }
    Ok(plan)
}

/// What stops a new tenant that the file alone cannot tell: its district
/// and its admin email, against the database. (field, reason).
async fn new_tenant_problems(
    client: &tokio_postgres::Client,
    catalog: &Catalog,
    spec: &SchoolSpec,
    created_in_run: &[&str],
) -> Result<Vec<(&'static str, String)>> {
    let mut found = Vec::new();
    if let Some(slug) = &spec.district {
        match db::Districts::of(catalog) {
            db::Districts::Table => {
                if spec.create_district.is_none()
                    && !created_in_run.contains(&slug.as_str())
                    && db::district_id(client, slug).await?.is_none()
                {
                    found.push((
                        "district",
                        format!(
                            "no district has the slug {slug:?} (create it with \
                             --create-district NAME, or create_district: in the file)"
                        ),
                    ));
                }
            }
            db::Districts::Column => {}
            db::Districts::None => found.push((
                "district",
                "this database records no districts (tenants have no district_id or district \
                 column)"
                    .to_owned(),
            )),
        }
    }
    if let Some(other) = db::email_taken(client, &spec.admin_email, &spec.subdomain).await? {
        found.push((
            "admin_email",
            format!(
                "{} is already registered in tenant {other:?}: the platform registers an \
                 admin email once",
                spec.admin_email
            ),
        ));
    }
    Ok(found)
}

/// Print the problems and exit 4: nothing was written.
fn reject(ctx: &Context, mut report: ProvisionReport, problems: Vec<Problem>) -> Result<()> {
    let n = problems.len();
    report.problems = problems;
    ctx.printer.print(&report)?;
    Err(exit::rejected(format!(
        "{n} problem{} found; nothing was written",
        if n == 1 { "" } else { "s" }
    )))
}

pub async fn status(ctx: &Context, args: ProvisionStatusArgs) -> Result<()> {
    let client = pg::connect(&ctx.conn()?, "k12ctl provision").await?;
    let catalog = Catalog::read(&client).await?;
    catalog.require(schema::PROVISION)?;
    let checklist = db::checklist(&client, &catalog, &args.subdomain)
        .await?
        .with_context(|| format!("no tenant has the subdomain {:?}", args.subdomain))?;
    ctx.printer.print(&StatusReport { checklist })
}

#[derive(Debug, Serialize)]
struct ProvisionReport {
    dry_run: bool,
    schools: Vec<SchoolResult>,
    /// Why nothing was written (empty when all went well).
    problems: Vec<Problem>,
}

#[derive(Debug, Serialize)]
struct SchoolResult {
    subdomain: String,
    name: String,
    /// created, already provisioned, would create (dry run)
    status: &'static str,
    tenant_id: Option<i64>,
    school_id: Option<i64>,
    admin_user_id: Option<i64>,
    /// The current academic year: created, already there, or to create.
    academic_year: Option<String>,
    /// Ids of everything created (absent when nothing was).
    created: Option<Created>,
    /// Rows a dry run would create, per table.
    would_create: Option<std::collections::BTreeMap<&'static str, usize>>,
    onboarding: Option<Completion>,
}

impl SchoolResult {
    fn base(spec: &SchoolSpec, status: &'static str) -> Self {
        Self {
            subdomain: spec.subdomain.clone(),
            name: spec.name.clone(),
            status,
            tenant_id: None,
            school_id: None,
            admin_user_id: None,
            academic_year: Some(spec.academic_year.name.clone()),
            created: None,
            would_create: None,
            onboarding: None,
        }
    }

    fn created(spec: &SchoolSpec, created: Created) -> Self {
        Self {
            tenant_id: Some(created.tenant_id),
            school_id: Some(created.school_id),
            admin_user_id: Some(created.admin_user_id),
            created: Some(created),
            ..Self::base(spec, "created")
        }
    }

    /// What the database holds, not what the spec would have made.
    fn unchanged(spec: &SchoolSpec, existing: &Existing) -> Self {
        Self {
            tenant_id: Some(existing.tenant_id),
            school_id: existing.school_id,
            admin_user_id: existing.admin_user_id,
            academic_year: existing.academic_year.clone(),
            ..Self::base(spec, "already provisioned")
        }
    }

    fn planned(
        spec: &SchoolSpec,
        existing: Option<&Existing>,
        policies: &[crate::onboarding::defaults::AiPolicy],
        catalog: &Catalog,
    ) -> Self {
        match existing {
            Some(existing) => Self::unchanged(spec, existing),
            None => Self {
                would_create: Some(
                    [
                        ("tenants", 1),
                        ("schools", 1),
                        ("roles", crate::onboarding::rules::ROLES.len()),
                        (
                            "permissions",
                            crate::onboarding::defaults::permissions().len(),
                        ),
                        ("users", 1),
                        ("user_roles", 1),
                        ("academic_years", 1),
                        ("ai_task_policies", policies.len()),
                        ("ai_provider_configs", 1),
                        (
                            "standard_frameworks",
                            crate::onboarding::defaults::STANDARD_FRAMEWORKS.len(),
                        ),
                        ("districts", usize::from(spec.create_district.is_some())),
                    ]
                    .into_iter()
                    .filter(|(table, n)| *n > 0 && catalog.has_table(table))
                    .collect(),
                ),
                ..Self::base(spec, "would create")
            },
        }
    }
}

/// Onboarding progress: items done of ten, and what is left.
#[derive(Debug, Clone, Serialize)]
struct Completion {
    done: usize,
    total: usize,
    percent: u32,
    remaining: Vec<&'static str>,
}

impl Completion {
    fn of(c: &Checklist) -> Self {
        Self {
            done: c.completed_count,
            total: c.total_count,
            percent: c.completion_percentage,
            remaining: c.items.iter().filter(|i| !i.done).map(|i| i.key).collect(),
        }
    }
}

impl Report for ProvisionReport {
    fn human(&self, style: &Style) -> String {
        if !self.problems.is_empty() {
            let mut t = tables::table(["Entry", "Field", "Problem"]);
            for p in &self.problems {
                t.add_row([p.entry.as_str(), p.field.as_str(), p.reason.as_str()]);
            }
            return t.to_string();
        }
        let mut t = tables::table([
            "Subdomain",
            "Status",
            "Tenant",
            "School",
            "Admin user",
            "Academic year",
            "Roles",
            "Permissions",
            "AI policies",
            "Onboarding",
        ]);
        for s in &self.schools {
            let id = |v: Option<i64>| v.map_or_else(|| "-".to_owned(), |v| v.to_string());
            let c = s.created.as_ref();
            let planned = |table: &str| {
                s.would_create
                    .as_ref()
                    .and_then(|w| w.get(table))
                    .map(|n| format!("+{n}"))
            };
            let count = |n: Option<u64>, table: &str| {
                n.map(|n| n.to_string())
                    .or_else(|| planned(table))
                    .unwrap_or_else(|| "-".into())
            };
            t.add_row(vec![
                comfy_table::Cell::new(&s.subdomain),
                tables::status_cell(s.status, style),
                comfy_table::Cell::new(id(s.tenant_id)),
                comfy_table::Cell::new(id(s.school_id)),
                comfy_table::Cell::new(id(s.admin_user_id)),
                comfy_table::Cell::new(s.academic_year.as_deref().unwrap_or("-")),
                comfy_table::Cell::new(count(c.map(|c| c.role_ids.len() as u64), "roles")),
                comfy_table::Cell::new(count(c.map(|c| c.permissions), "permissions")),
                comfy_table::Cell::new(count(c.map(|c| c.ai_policies), "ai_task_policies")),
                comfy_table::Cell::new(
                    s.onboarding
                        .as_ref()
                        .map_or_else(|| "-".into(), |o| format!("{}%", o.percent)),
                ),
            ]);
        }
        let created = self
            .schools
            .iter()
            .filter(|s| s.status == "created")
            .count();
        let summary = if self.dry_run {
            let n = self
                .schools
                .iter()
                .filter(|s| s.status == "would create")
                .count();
            format!(
                "dry run: {n} of {} school(s) would be created; nothing was written",
                self.schools.len()
            )
        } else {
            format!(
                "{created} school(s) created, {} already provisioned",
                self.schools.len() - created
            )
        };
        let next = if self.dry_run || created == 0 {
            String::new()
        } else {
            "\nnext: k12ctl import csv --tenant SUBDOMAIN --kind users|courses|enrollments FILE; \
             k12ctl provision status SUBDOMAIN"
                .to_owned()
        };
        format!("{t}\n{summary}{next}")
    }
}

/// OnboardingChecklistService's shape, key for key.
#[derive(Debug, Serialize)]
#[serde(transparent)]
struct StatusReport {
    checklist: Checklist,
}

impl Report for StatusReport {
    fn human(&self, style: &Style) -> String {
        let c = &self.checklist;
        let mut t = tables::table(["Item", "Status", "Required", "Key"]);
        for i in &c.items {
            t.add_row(vec![
                comfy_table::Cell::new(i.label),
                tables::status_cell(if i.done { "done" } else { "pending" }, style),
                comfy_table::Cell::new(if i.required { "yes" } else { "no" }),
                comfy_table::Cell::new(i.key),
            ]);
        }
        let missing: Vec<&str> = c
            .items
            .iter()
            .filter(|i| i.required && !i.done)
            .map(|i| i.key)
            .collect();
        let required = if missing.is_empty() {
            "every required item is done".to_owned()
        } else {
            format!("required and not done: {}", missing.join(", "))
        };
        format!(
            "{} (tenant {}): onboarding {}% complete ({} of {}); {required}\n{t}",
            c.school_name, c.tenant_id, c.completion_percentage, c.completed_count, c.total_count
        )
    }
}
