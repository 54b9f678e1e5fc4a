//! What a school to provision is: from flags or from a `schools.yaml` file,
//! validated whole before anything is written.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::rules;

/// The tenant time zone when none is given (the platform's column default).
pub const DEFAULT_TIMEZONE: &str = "America/New_York";

/// One school as the operator wrote it (flags or one YAML entry); every
/// field optional so that a missing one is reported with the others.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchoolInput {
    pub name: Option<String>,
    pub subdomain: Option<String>,
    pub admin_email: Option<String>,
    pub admin_first_name: Option<String>,
    pub admin_last_name: Option<String>,
    /// The district's slug (`districts.slug`).
    pub district: Option<String>,
    /// Create the district with this name when no district has the slug.
    pub create_district: Option<String>,
    pub timezone: Option<String>,
    pub academic_year_start: Option<NaiveDate>,
}

/// `schools.yaml`: `schools:` and a list of entries.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchoolsFile {
    pub schools: Vec<SchoolInput>,
}

/// A validated school: what one provisioning transaction creates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SchoolSpec {
    pub name: String,
    pub subdomain: String,
    pub admin_email: String,
    pub admin_first_name: String,
    pub admin_last_name: String,
    /// The district's slug.
    pub district: Option<String>,
    /// The name of a district to create when none has the slug.
    pub create_district: Option<String>,
    pub timezone: String,
    pub academic_year: AcademicYear,
    /// Whether the academic year was given (compared with an existing
    /// tenant's) or defaulted from today's date (not compared).
    #[serde(skip)]
    pub academic_year_given: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AcademicYear {
    pub name: String,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
}

impl AcademicYear {
    /// A school year from its first day: a year long, named `2026-2027`.
    pub fn starting(start: NaiveDate) -> Self {
        let end = start
            .with_year(start.year() + 1)
            .unwrap_or(start + chrono::Days::new(365))
            - chrono::Days::new(1);
        let name = if end.year() == start.year() {
            start.year().to_string()
        } else {
            format!("{}-{}", start.year(), end.year())
        };
        Self {
            name,
            start_date: start,
            end_date: end,
        }
    }

    /// The school year under way on `today`, taken to start on 1 August.
    pub fn current(today: NaiveDate) -> Self {
        let year = if today.month() >= 8 {
            today.year()
        } else {
            today.year() - 1
        };
        Self::starting(NaiveDate::from_ymd_opt(year, 8, 1).unwrap_or(today))
    }
}

/// A reason an entry is invalid: which entry, which field, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// `#N (subdomain)` in a file, the subdomain for flags.
    pub entry: String,
    pub field: String,
    pub reason: String,
}

/// Validate every entry; the specs when all are valid, else every problem.
/// Subdomains must be unique within the input.
pub fn validate(
    inputs: &[SchoolInput],
    today: NaiveDate,
    from_file: bool,
) -> Result<Vec<SchoolSpec>, Vec<Problem>> {
    let mut specs = Vec::new();
    let mut problems = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (i, input) in inputs.iter().enumerate() {
        let sub = input.subdomain.as_deref().unwrap_or("").trim();
        let entry = match (from_file, sub.is_empty()) {
            (true, true) => format!("#{}", i + 1),
            (true, false) => format!("#{} ({sub})", i + 1),
            (false, _) => sub.to_owned(),
        };
        let mut report = |field: &str, reason: String| {
            problems.push(Problem {
                entry: entry.clone(),
                field: field.to_owned(),
                reason,
            })
        };
        let required = |field: &str, v: &Option<String>| -> Result<String, String> {
            match v {
                None => Err(format!("{field} is required")),
                Some(v) => rules::text(field, v),
            }
        };
        let name = required("name", &input.name).map_err(|e| report("name", e));
        let subdomain = required("subdomain", &input.subdomain)
            .and_then(|s| rules::subdomain(&s).map(|()| s))
            .map_err(|e| report("subdomain", e));
        if let Ok(s) = &subdomain {
            if let Some(first) = seen.insert(s.clone(), i + 1) {
                report(
                    "subdomain",
                    format!("subdomain {s:?} is also entry #{first}"),
                );
            }
        }
        let email = required("admin_email", &input.admin_email)
            .and_then(|e| rules::email(&e))
            .map_err(|e| report("admin_email", e));
        let first = required("admin_first_name", &input.admin_first_name)
            .map_err(|e| report("admin_first_name", e));
        let last = required("admin_last_name", &input.admin_last_name)
            .map_err(|e| report("admin_last_name", e));
        let district = rules::optional_text("district", input.district.as_deref().unwrap_or(""))
            .map_err(|e| report("district", e));
        let create_district = rules::optional_text(
            "create_district",
            input.create_district.as_deref().unwrap_or(""),
        )
        .map_err(|e| report("create_district", e));
        if matches!((&district, &create_district), (Ok(None), Ok(Some(_)))) {
            report(
                "create_district",
                "create_district names the district to create: give its slug as district too"
                    .to_owned(),
            );
        }
        let timezone = match input.timezone.as_deref().map(str::trim) {
            None | Some("") => Ok(DEFAULT_TIMEZONE.to_owned()),
            Some(tz) => rules::text("timezone", tz),
        }
        .map_err(|e| report("timezone", e));
        if let (
            Ok(name),
            Ok(subdomain),
            Ok(email),
            Ok(first),
            Ok(last),
            Ok(district),
            Ok(create_district),
            Ok(tz),
        ) = (
            name,
            subdomain,
            email,
            first,
            last,
            district,
            create_district,
            timezone,
        ) {
            if district.is_none() && create_district.is_some() {
                continue;
            }
            specs.push(SchoolSpec {
                name,
                subdomain,
                admin_email: email,
                admin_first_name: first,
                admin_last_name: last,
                district,
                create_district,
                timezone: tz,
                academic_year: input
                    .academic_year_start
                    .map(AcademicYear::starting)
                    .unwrap_or_else(|| AcademicYear::current(today)),
                academic_year_given: input.academic_year_start.is_some(),
            });
        }
    }
    if problems.is_empty() {
        Ok(specs)
    } else {
        Err(problems)
    }
}

/// Parse `schools.yaml`. Errors carry the position yaml_serde reports.
pub fn parse_file(text: &str) -> Result<Vec<SchoolInput>, String> {
    let file: SchoolsFile = yaml_serde::from_str(text).map_err(|e| e.to_string())?;
    if file.schools.is_empty() {
        return Err("`schools:` lists no school".into());
    }
    Ok(file.schools)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn input(sub: &str) -> SchoolInput {
        SchoolInput {
            name: Some("Maple High".into()),
            subdomain: Some(sub.into()),
            admin_email: Some("Admin@Maple.example.org".into()),
            admin_first_name: Some("Pat".into()),
            admin_last_name: Some("O'Malley".into()),
            ..SchoolInput::default()
        }
    }

    #[test]
    fn academic_years() {
        let y = AcademicYear::current(day("2026-11-24"));
        assert_eq!(
            (y.name.as_str(), y.start_date, y.end_date),
            ("2026-2027", day("2026-08-01"), day("2027-07-31"))
        );
        assert_eq!(AcademicYear::current(day("2026-03-01")).name, "2025-2026");
        let jan = AcademicYear::starting(day("2027-01-01"));
        assert_eq!(
            (jan.name.as_str(), jan.end_date),
            ("2027", day("2027-12-31"))
        );
    }

    #[test]
    fn a_valid_school_is_normalised() {
        let specs = validate(&[input("maple")], day("2026-11-24"), false).unwrap();
        assert_eq!(specs[0].admin_email, "admin@maple.example.org");
        assert_eq!(specs[0].timezone, DEFAULT_TIMEZONE);
        assert!(!specs[0].academic_year_given);
    }

    #[test]
    fn every_problem_is_reported_with_its_entry() {
        let mut bad = input("www");
        bad.admin_email = Some("not-an-email".into());
        bad.name = None;
        let problems = validate(
            &[input("maple"), bad, input("maple")],
            day("2026-11-24"),
            true,
        )
        .unwrap_err();
        let fields: Vec<(&str, &str)> = problems
            .iter()
            .map(|p| (p.entry.as_str(), p.field.as_str()))
            .collect();
        assert_eq!(
            fields,
            [
                ("#2 (www)", "name"),
                ("#2 (www)", "subdomain"),
                ("#2 (www)", "admin_email"),
                ("#3 (maple)", "subdomain")
            ]
        );
        assert!(problems[3].reason.contains("also entry #1"));
    }

    #[test]
    fn yaml_files() {
        let ok = parse_file(
            "schools:\n  - name: A\n    subdomain: abc\n    academic_year_start: 2026-08-15\n",
        )
        .unwrap();
        assert_eq!(ok[0].academic_year_start, Some(day("2026-08-15")));
        assert!(parse_file("schools:\n  - nmae: A\n")
            .unwrap_err()
            .contains("nmae"));
        assert!(parse_file("schools: []\n").is_err());
    }
}
