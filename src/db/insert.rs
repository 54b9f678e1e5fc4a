//! An `INSERT` shaped by the catalog: the statement names the columns k12ctl
//! knows, keeps those this database has, and adds Rails' timestamps. The
//! same description answers "which columns does it fill?", so the check for
//! NOT NULL columns nobody fills and the statement cannot disagree.

use super::schema::{Catalog, TIMESTAMPS};

/// Rails' timestamps: UTC in a zone-less column; constant in a transaction.
pub const NOW_UTC: &str = "(now() AT TIME ZONE 'UTC')";

/// `INSERT INTO table (columns) SELECT expressions <rest>`.
#[derive(Debug, Clone)]
pub struct Insert {
    table: &'static str,
    /// (column, SQL expression), in order.
    values: Vec<(&'static str, String)>,
}

impl Insert {
    pub fn into(table: &'static str) -> Self {
        Self {
            table,
            values: Vec::new(),
        }
    }

    /// Write `expression` into `column` where the table has the column.
    pub fn value(mut self, column: &'static str, expression: impl Into<String>) -> Self {
        self.values.push((column, expression.into()));
        self
    }

    pub fn table(&self) -> &'static str {
        self.table
    }

    /// The columns the statement fills in this database, timestamps included.
    pub fn columns(&self, catalog: &Catalog) -> Vec<&'static str> {
        self.present(catalog).map(|(c, _)| c).collect()
    }

    fn present<'a>(
        &'a self,
        catalog: &'a Catalog,
    ) -> impl Iterator<Item = (&'static str, &'a str)> + 'a {
        let stamps = TIMESTAMPS.iter().map(|c| (*c, NOW_UTC));
        self.values
            .iter()
            .map(|(c, e)| (*c, e.as_str()))
            .chain(stamps)
            .filter(move |(c, _)| catalog.has(self.table, c))
    }

    /// The statement; `rest` follows the select list (`FROM ...`, `WHERE`,
    /// `ON CONFLICT`, `RETURNING`).
    pub fn sql(&self, catalog: &Catalog, rest: &str) -> String {
        let (columns, expressions): (Vec<&str>, Vec<&str>) = self.present(catalog).unzip();
        format!(
            "INSERT INTO {} ({}) SELECT {} {rest}",
            self.table,
            columns.join(", "),
            expressions.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_columns_the_table_has() {
        let catalog = Catalog::from_columns(&[
            ("schools", "tenant_id", true, false),
            ("schools", "name", true, false),
            ("schools", "created_at", true, false),
            ("schools", "updated_at", true, false),
        ]);
        let insert = Insert::into("schools")
            .value("tenant_id", "p.tenant_id")
            .value("name", "p.name")
            .value("timezone", "p.timezone");
        assert_eq!(
            insert.columns(&catalog),
            ["tenant_id", "name", "created_at", "updated_at"]
        );
        assert_eq!(
            insert.sql(&catalog, "FROM p RETURNING id"),
            format!(
                "INSERT INTO schools (tenant_id, name, created_at, updated_at) \
                 SELECT p.tenant_id, p.name, {NOW_UTC}, {NOW_UTC} FROM p RETURNING id"
            )
        );
    }
}
