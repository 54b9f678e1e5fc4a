//! Roster CSV files: read, check every row, report every problem with its
//! line. Nothing here touches the database; references to users, sections
//! and academic years are checked by `db::roster` against a staging table.
//!
//! Two formats each for courses and enrollments, told apart by the header:
//! the platform's DataImportService columns (users
//! `email,first_name,last_name,role`; courses `name,description,section_name`;
//! enrollments `email,section_name,role`, with its defaults: role `student`,
//! names `Imported User` for a new user) and k12ctl's own, with codes (courses
//! `course_code,course_name,section_code,section_name`; enrollments
//! `email,section_code,role`), for databases whose sections have codes. Both
//! take an optional `academic_year` (a year's name) for courses. Header names
//! match case-insensitively, a UTF-8 BOM is skipped, CRLF and quoted fields
//! (commas, quotes, line breaks) follow RFC 4180. Values are trimmed.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read};
use std::rc::Rc;

use serde::Serialize;

use super::rules::{self, ENROLLMENT_ROLES, ROLES};

/// At most this many problems are kept for the report; all are counted.
pub const MAX_REPORTED_ERRORS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Users,
    Courses,
    Enrollments,
}

/// Which columns a file has: the platform's (names) or k12ctl's (codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// DataImportService's columns: sections and courses by name.
    Platform,
    /// k12ctl's columns: courses and sections by code.
    Codes,
}

impl Kind {
    /// The formats of this kind; the first is the one a header without the
    /// other's marker column is read as.
    pub fn formats(self) -> &'static [Format] {
        match self {
            Kind::Users => &[Format::Platform],
            Kind::Courses | Kind::Enrollments => &[Format::Platform, Format::Codes],
        }
    }

    /// The columns of a file in `format`: (name, required).
    pub fn columns(self, format: Format) -> &'static [(&'static str, bool)] {
        match (self, format) {
            (Kind::Users, _) => &[
                ("email", true),
                ("first_name", false),
                ("last_name", false),
                ("role", false),
            ],
            (Kind::Courses, Format::Platform) => &[
                ("name", true),
                ("description", false),
                ("section_name", false),
                ("academic_year", false),
            ],
            (Kind::Courses, Format::Codes) => &[
                ("course_code", true),
                ("course_name", true),
                ("section_code", true),
                ("section_name", true),
                ("academic_year", false),
            ],
            (Kind::Enrollments, Format::Platform) => {
                &[("email", true), ("section_name", true), ("role", false)]
            }
            (Kind::Enrollments, Format::Codes) => {
                &[("email", true), ("section_code", true), ("role", true)]
            }
        }
    }

    /// The format of a file with these (lower-case) header names: the codes
    /// format when the header has its marker column.
    pub fn format_of(self, names: &[String]) -> Format {
        let marker = match self {
            Kind::Users => return Format::Platform,
            Kind::Courses => "course_code",
            Kind::Enrollments => "section_code",
        };
        if names.iter().any(|n| n == marker) {
            Format::Codes
        } else {
            Format::Platform
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Users => "users",
            Kind::Courses => "courses",
            Kind::Enrollments => "enrollments",
        }
    }
}

/// One problem: the file's line (1 is the header), the column, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    pub line: u64,
    pub column: Option<String>,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    pub line: u64,
    pub email: String,
    /// None: blank (a new user gets the platform's `Imported`, an existing
    /// one keeps theirs).
    pub first_name: Option<String>,
    /// None: blank (`User` for a new user).
    pub last_name: Option<String>,
    pub role: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CourseRow {
    pub line: u64,
    /// The codes format's course code.
    pub course_code: Option<String>,
    pub course_name: String,
    pub description: Option<String>,
    /// The codes format's section code.
    pub section_code: Option<String>,
    /// None: a course without a section (platform format).
    pub section_name: Option<String>,
    /// An academic year's name; None: the format's default year.
    pub academic_year: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollmentRow {
    pub line: u64,
    pub email: String,
    /// The section's name (platform format) or code (codes format).
    pub section: String,
    pub role: String,
}

#[derive(Debug)]
pub enum Rows {
    Users(Vec<UserRow>),
    Courses(Vec<CourseRow>),
    Enrollments(Vec<EnrollmentRow>),
}

impl Rows {
    fn empty(kind: Kind) -> Self {
        match kind {
            Kind::Users => Rows::Users(Vec::new()),
            Kind::Courses => Rows::Courses(Vec::new()),
            Kind::Enrollments => Rows::Enrollments(Vec::new()),
        }
    }

    pub fn kind(&self) -> Kind {
        match self {
            Rows::Users(_) => Kind::Users,
            Rows::Courses(_) => Kind::Courses,
            Rows::Enrollments(_) => Kind::Enrollments,
        }
    }
}

/// A parsed file: the valid rows, and every problem found.
#[derive(Debug)]
pub struct Parsed {
    pub format: Format,
    pub rows: Rows,
    /// Data rows read (valid or not).
    pub rows_read: u64,
    pub errors: Errors,
    /// Header columns that are not part of the format (ignored).
    pub ignored_columns: Vec<String>,
}

/// Problems, the first `MAX_REPORTED_ERRORS` kept, all counted.
#[derive(Debug, Default)]
pub struct Errors {
    pub kept: Vec<RowError>,
    pub total: usize,
}

impl Errors {
    pub fn push(&mut self, line: u64, column: Option<&str>, reason: impl Into<String>) {
        self.total += 1;
        if self.kept.len() < MAX_REPORTED_ERRORS {
            self.kept.push(RowError {
                line,
                column: column.map(str::to_owned),
                reason: reason.into(),
            });
        }
    }

    pub fn extend(&mut self, more: Vec<RowError>, total: usize) {
        self.total += total;
        let room = MAX_REPORTED_ERRORS.saturating_sub(self.kept.len());
        self.kept.extend(more.into_iter().take(room));
        self.kept.sort_by_key(|e| e.line);
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }
}

/// Where the line breaks are, as the file is read: the csv crate's own line
/// numbers are off for CRLF files, so lines are counted here, from the
/// bytes. Only breaks not yet passed are kept (a buffer's worth).
#[derive(Default)]
struct Lines {
    /// Offsets of `\n` bytes not yet passed, ascending.
    ahead: VecDeque<u64>,
    /// Line breaks passed.
    passed: u64,
    /// Bytes read so far.
    offset: u64,
}

impl Lines {
    /// The line (1-based) of the record that starts at `offset`; offsets
    /// must not decrease from call to call. A `\n` at `offset` itself ends
    /// the line before: the csv crate starts a record after CR at the LF.
    fn line_of(&mut self, offset: u64) -> u64 {
        while self.ahead.front().is_some_and(|&b| b <= offset) {
            self.ahead.pop_front();
            self.passed += 1;
        }
        self.passed + 1
    }
}

/// Counts the bytes read (progress) and notes the line breaks.
struct Counting<R, F> {
    inner: R,
    on_read: F,
    lines: Rc<RefCell<Lines>>,
}

impl<R: Read, F: FnMut(u64)> Read for Counting<R, F> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        (self.on_read)(n as u64);
        let mut lines = self.lines.borrow_mut();
        let start = lines.offset;
        for (i, b) in buf[..n].iter().enumerate() {
            if *b == b'\n' {
                lines.ahead.push_back(start + i as u64);
            }
        }
        lines.offset += n as u64;
        Ok(n)
    }
}

/// Read and check a whole file. Only I/O errors are `Err`; everything wrong
/// with the content is in `Parsed::errors`.
pub fn parse(kind: Kind, input: impl Read, on_read: impl FnMut(u64)) -> std::io::Result<Parsed> {
    let lines = Rc::new(RefCell::new(Lines::default()));
    let mut input = BufReader::with_capacity(
        256 * 1024,
        Counting {
            inner: input,
            on_read,
            lines: Rc::clone(&lines),
        },
    );
    // Record offsets count from after the BOM.
    let mut bom = 0;
    if input.fill_buf()?.starts_with(b"\xEF\xBB\xBF") {
        input.consume(3);
        bom = 3;
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(input);
    let mut errors = Errors::default();
    let mut record = csv::ByteRecord::new();
    let empty = |kind: Kind| Parsed {
        format: kind.formats()[0],
        rows: Rows::empty(kind),
        rows_read: 0,
        errors: Errors::default(),
        ignored_columns: Vec::new(),
    };

    if !read_record(&mut reader, &mut record)? {
        let mut parsed = empty(kind);
        parsed
            .errors
            .push(1, None, "the file is empty (no header line)");
        return Ok(parsed);
    }
    let header = match Header::parse(kind, &record, &mut errors) {
        Some(h) if errors.is_empty() => h,
        _ => {
            let mut parsed = empty(kind);
            parsed.errors = errors;
            return Ok(parsed);
        }
    };

    let mut checker = Checker::new(kind, header.format);
    let mut rows_read = 0;
    while read_record(&mut reader, &mut record)? {
        rows_read += 1;
        let offset = record.position().map_or(0, |p| p.byte()) + bom;
        let line = lines.borrow_mut().line_of(offset);
        if record.len() != header.width {
            errors.push(
                line,
                None,
                format!("expected {} fields, found {}", header.width, record.len()),
            );
            continue;
        }
        let mut fields: Vec<&str> = Vec::with_capacity(header.index.len());
        let mut bad = false;
        for (name, index) in &header.index {
            match index.map(|i| std::str::from_utf8(&record[i])) {
                None => fields.push(""),
                Some(Ok(s)) => fields.push(s),
                Some(Err(_)) => {
                    errors.push(line, Some(name), "invalid UTF-8 (save the file as UTF-8)");
                    bad = true;
                    break;
                }
            }
        }
        if !bad {
            checker.row(line, &fields, &mut errors);
        }
    }
    Ok(Parsed {
        format: header.format,
        rows: checker.rows,
        rows_read,
        errors,
        ignored_columns: header.ignored,
    })
}

fn read_record<R: Read>(
    reader: &mut csv::Reader<R>,
    record: &mut csv::ByteRecord,
) -> std::io::Result<bool> {
    reader
        .read_byte_record(record)
        .map_err(|e| match e.into_kind() {
            csv::ErrorKind::Io(e) => e,
            other => std::io::Error::other(format!("{other:?}")),
        })
}

/// Where each column of the format is in the file.
struct Header {
    format: Format,
    /// (column, position in the record), in the format's order.
    index: Vec<(&'static str, Option<usize>)>,
    width: usize,
    ignored: Vec<String>,
}

impl Header {
    fn parse(kind: Kind, record: &csv::ByteRecord, errors: &mut Errors) -> Option<Self> {
        let mut names = Vec::new();
        for field in record.iter() {
            match std::str::from_utf8(field) {
                Ok(s) => names.push(s.trim().to_lowercase()),
                Err(_) => {
                    errors.push(1, None, "invalid UTF-8 in the header line");
                    return None;
                }
            }
        }
        let format = kind.format_of(&names);
        let columns = kind.columns(format);
        let mut index = Vec::new();
        for (column, required) in columns {
            let found: Vec<usize> = (0..names.len()).filter(|i| names[*i] == *column).collect();
            match found.as_slice() {
                [] if *required => errors.push(
                    1,
                    Some(column),
                    format!(
                        "missing column (a {} file has: {})",
                        kind.as_str(),
                        formats(kind)
                    ),
                ),
                [] => index.push((*column, None)),
                [one] => index.push((*column, Some(*one))),
                _ => errors.push(1, Some(column), "column appears more than once"),
            }
        }
        let ignored = names
            .iter()
            .filter(|n| !columns.iter().any(|(c, _)| c == n))
            .cloned()
            .collect();
        Some(Self {
            format,
            index,
            width: record.len(),
            ignored,
        })
    }
}

/// The formats of a kind, for messages: `a,b,[c]` or `a,b | x,y`.
fn formats(kind: Kind) -> String {
    kind.formats()
        .iter()
        .map(|f| {
            kind.columns(*f)
                .iter()
                .map(|(c, r)| {
                    if *r {
                        (*c).to_owned()
                    } else {
                        format!("[{c}]")
                    }
                })
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect::<Vec<_>>()
        .join(" or ")
}

/// Row checks, including duplicates within the file.
struct Checker {
    format: Format,
    rows: Rows,
    /// Key -> first line: emails (users), (email, section) (enrollments),
    /// sections (courses).
    seen: HashMap<String, u64>,
    /// Courses: (academic year, course) -> (name or description, first line).
    courses: HashMap<(String, String), (Option<String>, u64)>,
}

impl Checker {
    fn new(kind: Kind, format: Format) -> Self {
        Self {
            format,
            rows: Rows::empty(kind),
            seen: HashMap::new(),
            courses: HashMap::new(),
        }
    }

    /// `fields` are in the format's column order.
    fn row(&mut self, line: u64, fields: &[&str], errors: &mut Errors) {
        let before = errors.total;
        let check = |errors: &mut Errors, column: &str, result: Result<String, String>| {
            result.unwrap_or_else(|reason| {
                errors.push(line, Some(column), reason);
                String::new()
            })
        };
        match &mut self.rows {
            Rows::Users(rows) => {
                let email = check(errors, "email", rules::email(fields[0]));
                let first_name = optional(line, "first_name", fields[1], errors);
                let last_name = optional(line, "last_name", fields[2], errors);
                let role = check(errors, "role", role(fields[3], &ROLES));
                if errors.total == before
                    && first_seen(
                        &mut self.seen,
                        email.clone(),
                        (line, "email", "email"),
                        errors,
                    )
                {
                    rows.push(UserRow {
                        line,
                        email,
                        first_name,
                        last_name,
                        role,
                    });
                }
            }
            Rows::Courses(rows) => {
                let row = match self.format {
                    Format::Codes => CourseRow {
                        line,
                        course_code: Some(check(
                            errors,
                            "course_code",
                            rules::text("course_code", fields[0]),
                        )),
                        course_name: check(
                            errors,
                            "course_name",
                            rules::text("course_name", fields[1]),
                        ),
                        description: None,
                        section_code: Some(check(
                            errors,
                            "section_code",
                            rules::text("section_code", fields[2]),
                        )),
                        section_name: Some(check(
                            errors,
                            "section_name",
                            rules::text("section_name", fields[3]),
                        )),
                        academic_year: optional(line, "academic_year", fields[4], errors),
                    },
                    Format::Platform => CourseRow {
                        line,
                        course_code: None,
                        course_name: check(errors, "name", rules::text("name", fields[0])),
                        description: optional(line, "description", fields[1], errors),
                        section_code: None,
                        section_name: optional(line, "section_name", fields[2], errors),
                        academic_year: optional(line, "academic_year", fields[3], errors),
                    },
                };
                if errors.total == before
                    && course_is_consistent(
                        self.format,
                        &mut self.seen,
                        &mut self.courses,
                        &row,
                        errors,
                    )
                {
                    rows.push(row);
                }
            }
            Rows::Enrollments(rows) => {
                let (column, role_required) = match self.format {
                    Format::Codes => ("section_code", true),
                    Format::Platform => ("section_name", false),
                };
                let email = check(errors, "email", rules::email(fields[0]));
                let section = check(errors, column, rules::text(column, fields[1]));
                let role = if role_required {
                    check(
                        errors,
                        "role",
                        rules::one_of("role", fields[2], &ENROLLMENT_ROLES),
                    )
                } else {
                    check(errors, "role", role(fields[2], &ENROLLMENT_ROLES))
                };
                let key = format!("{email}\u{0}{section}");
                if errors.total == before
                    && first_seen(&mut self.seen, key, (line, "email", "enrollment"), errors)
                {
                    rows.push(EnrollmentRow {
                        line,
                        email,
                        section,
                        role,
                    });
                }
            }
        }
    }
}

/// A section once per file; one name (codes) or description (platform)
/// per course.
fn course_is_consistent(
    format: Format,
    seen: &mut HashMap<String, u64>,
    courses: &mut HashMap<(String, String), (Option<String>, u64)>,
    row: &CourseRow,
    errors: &mut Errors,
) -> bool {
    let year = row.academic_year.clone().unwrap_or_default();
    let (course, section, column) = match format {
        Format::Codes => (
            row.course_code.clone().unwrap_or_default(),
            row.section_code.clone().unwrap_or_default(),
            "section_code",
        ),
        Format::Platform => (
            row.course_name.clone(),
            format!(
                "{year}\u{0}{}\u{0}{}",
                row.course_name,
                row.section_name.as_deref().unwrap_or("")
            ),
            "section_name",
        ),
    };
    let what = if row.section_name.is_some() {
        column
    } else {
        "course"
    };
    if !first_seen(seen, section, (row.line, column, what), errors) {
        return false;
    }
    let (value, column) = match format {
        Format::Codes => (Some(row.course_name.clone()), "course_name"),
        Format::Platform => (row.description.clone(), "description"),
    };
    match courses.get_mut(&(year, course.clone())) {
        Some((Some(first), first_line)) if value.as_ref().is_some_and(|v| v != first) => {
            errors.push(
                row.line,
                Some(column),
                match format {
                    Format::Codes => {
                        format!("course {course:?} is named {first:?} on line {first_line}")
                    }
                    Format::Platform => format!(
                        "course {course:?} has the description {first:?} on line {first_line}"
                    ),
                },
            );
            false
        }
        Some((first @ None, first_line)) => {
            if value.is_some() {
                *first = value;
                *first_line = row.line;
            }
            true
        }
        Some(_) => true,
        None => {
            courses.insert(
                (row.academic_year.clone().unwrap_or_default(), course),
                (value, row.line),
            );
            true
        }
    }
}

/// A blank optional value is None.
fn optional(line: u64, column: &str, raw: &str, errors: &mut Errors) -> Option<String> {
    rules::optional_text(column, raw).unwrap_or_else(|reason| {
        errors.push(line, Some(column), reason);
        None
    })
}

/// A role, `student` when blank (DataImportService's default).
fn role(raw: &str, allowed: &[&str]) -> Result<String, String> {
    if raw.trim().is_empty() {
        return Ok("student".to_owned());
    }
    rules::one_of("role", raw, allowed)
}

/// Record `key` at `line`; false (and an error naming `what` and the
/// first line) if an earlier line has it.
fn first_seen(
    seen: &mut HashMap<String, u64>,
    key: String,
    (line, column, what): (u64, &str, &str),
    errors: &mut Errors,
) -> bool {
    if let Some(first) = seen.get(&key) {
        errors.push(
            line,
            Some(column),
            format!("duplicate {what}: first on line {first}"),
        );
        return false;
    }
    seen.insert(key, line);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(kind: Kind, text: &[u8]) -> Parsed {
        parse(kind, text, |_| {}).unwrap()
    }

    fn lines(p: &Parsed) -> Vec<(u64, Option<&str>)> {
        p.errors
            .kept
            .iter()
            .map(|e| (e.line, e.column.as_deref()))
            .collect()
    }

    #[test]
    fn users_with_bom_crlf_quotes_and_header_case() {
        let text = "\u{feff}Email,First_Name,LAST_NAME,Role,Grade\r\n\
                    a@example.org,\"Ann, Jr.\",\"O'Brien\nSmith\",Teacher,9\r\n\
                    B@Example.org,Bob,\"Say \"\"hi\"\"\",student,10\r\n";
        let p = parse_str(Kind::Users, text.as_bytes());
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let Rows::Users(rows) = &p.rows else { panic!() };
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].first_name.as_deref(), Some("Ann, Jr."));
        assert_eq!(rows[0].last_name.as_deref(), Some("O'Brien\nSmith"));
        assert_eq!(rows[0].role, "teacher");
        assert_eq!(
            rows[1].line, 4,
            "a quoted line break moves the next row down"
        );
        assert_eq!(rows[1].email, "b@example.org");
        assert_eq!(rows[1].last_name.as_deref(), Some("Say \"hi\""));
        assert_eq!(p.ignored_columns, ["grade"]);
    }

    #[test]
    fn row_problems_carry_their_line_and_column() {
        let text = b"email,first_name,last_name,role\n\
                     ok@example.org,A,B,teacher\n\
                     bad-email,A,B,teacher\n\
                     c@example.org,A,B,principal\n\
                     OK@example.org,A,B,student\n\
                     d@example.org,\xff\xfe,B,student\n\
                     e@example.org,A\n\
                     f@example.org,,B,student\n\
                     g@example.org,A,B,\n";
        let p = parse_str(Kind::Users, text);
        assert_eq!(
            lines(&p),
            [
                (3, Some("email")),
                (4, Some("role")),
                (5, Some("email")),
                (6, Some("first_name")),
                (7, None)
            ]
        );
        let Rows::Users(rows) = &p.rows else { panic!() };
        let blank: Vec<_> = rows.iter().filter(|r| r.line >= 8).collect();
        assert_eq!(
            blank[0].first_name, None,
            "a blank name is the platform's default"
        );
        assert_eq!(blank[1].role, "student", "a blank role is a student");
        assert!(p.errors.kept[2].reason.contains("first on line 2"));
        assert!(p.errors.kept[3].reason.contains("UTF-8"));
        assert_eq!(p.rows_read, 8);
    }

    #[test]
    fn lines_are_counted_in_crlf_and_lf_files_alike() {
        for eol in ["\n", "\r\n"] {
            let text = [
                "email,first_name,last_name,role",
                "a@example.org,A,B,teacher",
                "b@example.org,\"B",
                "b\",B,student",
                "bad,A,B,teacher",
                "c@example.org,A,B,nope",
                "",
            ]
            .join(eol);
            let p = parse_str(Kind::Users, text.as_bytes());
            assert_eq!(
                lines(&p),
                [(5, Some("email")), (6, Some("role"))],
                "{eol:?}"
            );
        }
    }

    #[test]
    fn header_problems() {
        let p = parse_str(Kind::Enrollments, b"email,role\nx@example.org,student\n");
        assert_eq!(lines(&p), [(1, Some("section_name"))]);
        assert!(p.errors.kept[0].reason.contains("missing column"));
        let p = parse_str(Kind::Users, b"");
        assert!(p.errors.kept[0].reason.contains("empty"));
    }

    #[test]
    fn courses_are_consistent_and_sections_unique() {
        let text = "course_code,course_name,section_code,section_name\n\
                    ALG1,Algebra I,ALG1-01,Period 1\n\
                    ALG1,Algebra I,ALG1-02,Period 2\n\
                    ALG1,Algebra 1,ALG1-03,Period 3\n\
                    GEO,Geometry,ALG1-01,Period 1\n";
        let p = parse_str(Kind::Courses, text.as_bytes());
        assert_eq!(
            lines(&p),
            [(4, Some("course_name")), (5, Some("section_code"))]
        );
        let Rows::Courses(rows) = &p.rows else {
            panic!()
        };
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].academic_year, None);
    }

    #[test]
    fn platform_formats_are_told_from_codes_by_the_header() {
        let text = "name,description,section_name\n\
                    Algebra I,Linear equations,Period 1\n\
                    Algebra I,,Period 2\n\
                    Biology,,\n\
                    Algebra I,Quadratics,Period 3\n\
                    Algebra I,,Period 1\n";
        let p = parse_str(Kind::Courses, text.as_bytes());
        assert_eq!(p.format, Format::Platform);
        assert_eq!(
            lines(&p),
            [(5, Some("description")), (6, Some("section_name"))]
        );
        let Rows::Courses(rows) = &p.rows else {
            panic!()
        };
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[2].section_name, None, "a course without a section");
        let p = parse_str(
            Kind::Courses,
            b"course_code,course_name,section_code,section_name\n",
        );
        assert_eq!(p.format, Format::Codes);
        let p = parse_str(
            Kind::Enrollments,
            b"email,section_name\na@example.org,Period 1\n",
        );
        assert_eq!(p.format, Format::Platform);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let Rows::Enrollments(rows) = &p.rows else {
            panic!()
        };
        assert_eq!(
            (rows[0].section.as_str(), rows[0].role.as_str()),
            ("Period 1", "student")
        );
        let p = parse_str(Kind::Courses, b"description\nx\n");
        assert!(p.errors.kept[0]
            .reason
            .contains("name,[description],[section_name]"));
        assert!(p.errors.kept[0].reason.contains(" or course_code,"));
    }

    #[test]
    fn duplicate_enrollments() {
        let text = "email,section_code,role\na@example.org,S1,student\nA@example.org,S1,teacher\na@example.org,S2,student\n";
        let p = parse_str(Kind::Enrollments, text.as_bytes());
        assert_eq!(lines(&p), [(3, Some("email"))]);
        assert!(p.errors.kept[0].reason.contains("duplicate enrollment"));
    }

    #[test]
    fn errors_are_capped_but_counted() {
        let mut text = String::from("email,first_name,last_name,role\n");
        for _ in 0..(MAX_REPORTED_ERRORS + 10) {
            text.push_str("nope,A,B,teacher\n");
        }
        let p = parse_str(Kind::Users, text.as_bytes());
        assert_eq!(p.errors.kept.len(), MAX_REPORTED_ERRORS);
        assert_eq!(p.errors.total, MAX_REPORTED_ERRORS + 10);
    }
}
