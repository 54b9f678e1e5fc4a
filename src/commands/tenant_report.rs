//! The report of `restore --tenant`: per table, the tenant's rows in the
//! backup and what becomes of them; the tables skipped and those left
//! alone; the conflicts that stopped it. JSON for drills, a table for
//! people; the confirmation shows the same table before anything is written.

use serde::Serialize;

use crate::db::tenant::scope::ScopedTable;
use crate::db::tenant::{Conflict, Plan, Reach, RowRef, TableCounts};
use crate::db::ConnInfo;
use crate::output::printer::Style;
use crate::output::{tables, Report};
use crate::pipeline::manifest::BackupManifest;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// `--merge`: missing rows back into a live database.
    Merge,
    /// `--create`: the tenant alone in a new database.
    Extract,
}

impl Mode {
    pub fn verb(self) -> &'static str {
        match self {
            Self::Merge => "Merge",
            Self::Extract => "Extract",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TenantRestoreReport {
    pub mode: Mode,
    pub tenant: String,
    pub tenant_id: i64,
    pub backup: String,
    pub target: String,
    pub server: String,
    pub dry_run: bool,
    pub overwrite_changed: bool,
    /// Whether the rows were written (false: dry run, conflicts).
    pub committed: bool,
    /// The tables whose rows were moved, parents first.
    pub tables: Vec<TableCounts>,
    /// Tables of the tenant whose rows cannot be taken, and why.
    pub skipped: Vec<crate::db::tenant::Skipped>,
    /// Global tables: not the tenant's, left alone.
    pub left_alone: Vec<String>,
    /// Foreign keys whose columns are written after both sides are in.
    pub deferred_foreign_keys: Vec<String>,
    pub conflicts: Vec<Conflict>,
    /// Rows that differ now (the first 200): replaced with --overwrite-changed.
    pub differing: Vec<RowRef>,
    pub duration_seconds: f64,
}

impl TenantRestoreReport {
    pub fn new(
        mode: Mode,
        slug: &str,
        tenant_id: i64,
        m: &BackupManifest,
        target: &ConnInfo,
        plan: &Plan,
    ) -> Self {
        let copied = |t: &&ScopedTable| plan.tables.iter().any(|p| p.table == t.table);
        Self {
            mode,
            tenant: slug.to_owned(),
            tenant_id,
            backup: m.id.clone(),
            target: target.dbname.clone(),
            server: target.server(),
            dry_run: false,
            overwrite_changed: false,
            committed: false,
            tables: Vec::new(),
            skipped: plan.skipped.clone(),
            left_alone: plan
                .scope
                .all()
                .filter(|t| !t.reach.is_tenant() && !copied(t))
                .map(|t| t.table.clone())
                .collect(),
            deferred_foreign_keys: plan
                .scope
                .deferred
                .iter()
                .map(|fk| format!("{}.{} -> {}", fk.table, fk.columns.join(", "), fk.parent))
                .collect(),
            conflicts: Vec::new(),
            differing: Vec::new(),
            duration_seconds: 0.0,
        }
    }

    fn total(&self, f: impl Fn(&TableCounts) -> i64) -> i64 {
        self.tables.iter().map(f).sum()
    }

    /// The per-table plan (or result, once written), the skipped and
    /// untouched tables, and the rows that differ.
    pub fn plan_text(&self, written: bool) -> String {
        let mut t = tables::table([
            "table",
            "reached by",
            "in backup",
            if written { "inserted" } else { "missing now" },
            "differ",
            "unchanged",
            "new since backup",
        ]);
        // Narrow enough for any terminal; never squeezed (a prompt's
        // terminal may not say how wide it is).
        t.set_content_arrangement(comfy_table::ContentArrangement::Disabled);
        let mut quiet = 0;
        for c in &self.tables {
            if c.backup_rows == 0 && c.new_since_backup == 0 {
                quiet += 1;
                continue;
            }
            let first = if written {
                c.inserted as i64
            } else {
                c.missing
            };
            let differ = if written && self.overwrite_changed {
                format!("{} replaced", c.overwritten)
            } else {
                c.differ.to_string()
            };
            t.add_row(vec![
                c.table.clone(),
                reach(c.reach).to_owned(),
                c.backup_rows.to_string(),
                first.to_string(),
                differ,
                c.unchanged.to_string(),
                c.new_since_backup.to_string(),
            ]);
        }
        let mut text = t.to_string();
        if quiet > 0 {
            text.push_str(&format!(
                "\n{quiet} more table(s) of the tenant have no rows in the backup or now"
            ));
        }
        for s in &self.skipped {
            text.push_str(&format!("\nskipped {}: {}", s.table, s.reason));
        }
        if !self.left_alone.is_empty() {
            text.push_str(&format!(
                "\nleft alone (global): {}",
                self.left_alone.join(", ")
            ));
        }
        if !self.differing.is_empty() {
            let what = if self.overwrite_changed {
                "REPLACED with the backup's values"
            } else {
                "left as they are (--overwrite-changed replaces them)"
            };
            let rows: Vec<String> = self
                .differing
                .iter()
                .map(|r| format!("{} {}", r.table, r.row))
                .collect();
            text.push_str(&format!("\nrows that differ, {what}: {}", rows.join("; ")));
        }
        text
    }

    fn conflicts_text(&self) -> String {
        let mut t = tables::table(["table", "row", "problem"]);
        for c in &self.conflicts {
            t.add_row(vec![c.table.clone(), c.row.clone(), c.problem.clone()]);
        }
        t.to_string()
    }
}

fn reach(r: Reach) -> &'static str {
    r.as_str()
}

impl Report for TenantRestoreReport {
    fn human(&self, _: &Style) -> String {
        let what = match self.mode {
            Mode::Merge => format!("merge of tenant {} into {}", self.tenant, self.target),
            Mode::Extract => format!(
                "extract of tenant {} into the new database {}",
                self.tenant, self.target
            ),
        };
        if !self.conflicts.is_empty() {
            return format!(
                "{}\nREFUSED: {} row(s) cannot go back; nothing was written ({what} from {})",
                self.conflicts_text(),
                self.conflicts.len(),
                self.backup
            );
        }
        let missing = self.total(|c| c.missing);
        if self.dry_run {
            return format!(
                "{}\ndry run: {what} from {} would insert {missing} row(s); nothing was written",
                self.plan_text(false),
                self.backup
            );
        }
        let inserted = self.total(|c| c.inserted as i64);
        let overwritten = self.total(|c| c.overwritten as i64);
        let replaced = if self.overwrite_changed {
            format!(", {overwritten} replaced")
        } else {
            String::new()
        };
        format!(
            "{}\n{what} from {}: {inserted} row(s) inserted{replaced} in {}",
            self.plan_text(true),
            self.backup,
            tables::duration(self.duration_seconds)
        )
    }
}
