//! `backup prune`: retention, never the newest good backups, never on an
//! empty policy; `--dry-run` shows the verdicts and removes nothing.

use anyhow::Result;
use chrono::Utc;

use super::Context;
use crate::cli::BackupPruneArgs;
use crate::exit;
use crate::output::printer::Style;
use crate::output::prometheus::Gauge;
use crate::output::tables::{self, status_cell};
use crate::output::Report;
use crate::pipeline::prune::{self as pipeline, PruneOutcome};
use crate::pipeline::retention::{Policy, DEFAULT_KEEP_FAILED_DAYS};

pub async fn run(ctx: &Context, args: BackupPruneArgs) -> Result<Vec<Gauge>> {
    let policy = policy(ctx, &args)?;
    let store = ctx.store().await?;
    let stale = chrono::Duration::from_std(args.abort_uploads_older_than)
        .map_err(|_| exit::usage("--abort-uploads-older-than is too long"))?;
    let outcome = tokio::select! {
        r = pipeline::run(store.as_ref(), &policy, args.dry_run, Utc::now(), stale) => r?,
        sig = ctx.interrupt.wait() => return Err(sig.into()),
    };
    ctx.printer.print(&outcome)?;
    if outcome.dry_run {
        return Ok(Vec::new());
    }
    let removed = outcome.decisions.iter().filter(|d| !d.keep).count();
    Ok(vec![
        Gauge::new("removed", "Backups the last prune removed.", removed as f64),
        Gauge::new(
            "kept",
            "Backups the last prune kept.",
            (outcome.decisions.len() - removed) as f64,
        ),
        Gauge::new(
            "aborted_uploads",
            "Unfinished uploads the last prune aborted.",
            outcome.aborted_uploads.len() as f64,
        ),
    ])
}

/// Flags over the config file's `retention:` section, field by field.
fn policy(ctx: &Context, args: &BackupPruneArgs) -> Result<Policy> {
    let file = &ctx.settings.retention;
    let keep_within = match (args.keep_within, &file.keep_within) {
        (Some(d), _) => Some(d),
        (None, Some(text)) => Some(humantime::parse_duration(text).map_err(|e| {
            exit::usage(format!(
                "retention.keep_within {text:?} is not a duration: {e}"
            ))
        })?),
        (None, None) => None,
    };
    let keep_within = keep_within
        .map(|d| chrono::Duration::from_std(d).map_err(|_| exit::usage("keep-within is too long")))
        .transpose()?;
    Ok(Policy {
        keep_last: args.keep_last.or(file.keep_last),
        keep_daily: args.keep_daily.or(file.keep_daily),
        keep_weekly: args.keep_weekly.or(file.keep_weekly),
        keep_monthly: args.keep_monthly.or(file.keep_monthly),
        keep_within,
        keep_failed_days: args
            .keep_failed_days
            .or(file.keep_failed_days)
            .unwrap_or(DEFAULT_KEEP_FAILED_DAYS),
    })
}

impl Report for PruneOutcome {
    fn human(&self, style: &Style) -> String {
        let now = Utc::now();
        let mut t = tables::table(["ID", "STATUS", "AGE", "ACTION", "REASON"]);
        for d in &self.decisions {
            let action = match (d.keep, self.dry_run) {
                (true, _) => "keep",
                (false, true) => "would remove",
                (false, false) => "removed",
            };
            t.add_row(vec![
                d.id.clone().into(),
                status_cell(d.status.as_str(), style),
                tables::age(d.started_at, now).into(),
                action.into(),
                d.reasons.join(", ").into(),
            ]);
        }
        let removed = self.decisions.iter().filter(|d| !d.keep).count();
        let mut out = if self.decisions.is_empty() {
            "no backups in the catalog".to_owned()
        } else {
            t.to_string()
        };
        let verb = if self.dry_run {
            "would remove"
        } else {
            "removed"
        };
        out.push_str(&format!(
            "\n{verb} {removed} of {} backups",
            self.decisions.len()
        ));
        for u in &self.aborted_uploads {
            let when = u
                .initiated
                .map(|t| format!(", started {} ago", tables::age(t, now)))
                .unwrap_or_default();
            let verb = if self.dry_run {
                "would abort"
            } else {
                "aborted"
            };
            out.push_str(&format!(
                "\n{verb} the unfinished upload of {}{when}",
                u.key
            ));
        }
        if self.dry_run {
            out.push_str("\ndry run: nothing was changed");
        }
        out
    }
}
