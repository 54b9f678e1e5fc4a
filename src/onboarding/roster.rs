//! Roster CSV files: read, check every row, report every problem with its
//! line. Nothing here touches the database; references to users, sections
//! and academic years are checked by `db::roster` against a staging table.
//!
//! Files: users `email,first_name,last_name,role`; courses
//! `course_code,course_name,section_code,section_name[,academic_year]`;
//! enrollments `email,section_code,role`. Header names match
//! case-insensitively, a UTF-8 BOM is skipped, CRLF and quoted fields (commas,
//! quotes, line breaks) follow RFC 4180. Values are trimmed.

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

impl Kind {
    /// The columns of the file: (name, required).
    pub fn columns(self) -> &'static [(&'static str, bool)] {
        match self {
            Kind::Users => &[
                ("email", true),
                ("first_name", true),
                ("last_name", true),
                ("role", true),
            ],
            Kind::Courses => &[
                ("course_code", true),
                ("course_name", true),
                ("section_code", true),
                ("section_name", true),
                ("academic_year", false),
            ],
            Kind::Enrollments => &[("email", true), ("section_code", true), ("role", true)],
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
    pub first_name: String,
    pub last_name: String,
    pub role: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CourseRow {
    pub line: u64,
    pub course_code: String,
    pub course_name: String,
    pub section_code: String,
    pub section_name: String,
    /// An academic year's name; None: the tenant's current year.
    pub academic_year: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollmentRow {
    pub line: u64,
    pub email: String,
    pub section_code: String,
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
    let empty = |kind| Parsed {
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

    let mut checker = Checker::new(kind);
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
        let mut index = Vec::new();
        for (column, required) in kind.columns() {
            let found: Vec<usize> = (0..names.len()).filter(|i| names[*i] == *column).collect();
            match found.as_slice() {
                [] if *required => errors.push(
                    1,
                    Some(column),
                    format!(
                        "missing column (a {} file has: {})",
                        kind.as_str(),
                        kind.columns()
                            .iter()
                            .map(|(c, r)| if *r {
                                (*c).to_owned()
                            } else {
                                format!("[{c}]")
                            })
                            .collect::<Vec<_>>()
                            .join(",")
                    ),
                ),
                [] => index.push((*column, None)),
                [one] => index.push((*column, Some(*one))),
                _ => errors.push(1, Some(column), "column appears more than once"),
            }
        }
        let ignored = names
            .iter()
            .filter(|n| !kind.columns().iter().any(|(c, _)| c == n))
            .cloned()
            .collect();
        Some(Self {
            index,
            width: record.len(),
            ignored,
        })
    }
}

/// Row checks, including duplicates within the file.
struct Checker {
    rows: Rows,
    /// Key -> first line: emails (users), (email, section) (enrollments),
    /// section codes (courses).
    seen: HashMap<String, u64>,
    /// Courses: (academic year, course code) -> (name, first line).
    course_names: HashMap<(String, String), (String, u64)>,
}

impl Checker {
    fn new(kind: Kind) -> Self {
        Self {
            rows: Rows::empty(kind),
            seen: HashMap::new(),
            course_names: HashMap::new(),
        }
    }

    /// `fields` are in the format's column order.
    fn row(&mut self, line: u64, fields: &[&str], errors: &mut Errors) {
        let before = errors.total;
        let mut check = |column: &str, result: Result<String, String>| match result {
            Ok(v) => v,
            Err(reason) => {
                errors.push(line, Some(column), reason);
                String::new()
            }
        };
        match &mut self.rows {
            Rows::Users(rows) => {
                let email = check("email", rules::email(fields[0]));
                let first_name = check("first_name", rules::text("first_name", fields[1]));
                let last_name = check("last_name", rules::text("last_name", fields[2]));
                let role = check("role", rules::one_of("role", fields[3], &ROLES));
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
                let course_code = check("course_code", rules::text("course_code", fields[0]));
                let course_name = check("course_name", rules::text("course_name", fields[1]));
                let section_code = check("section_code", rules::text("section_code", fields[2]));
                let section_name = check("section_name", rules::text("section_name", fields[3]));
                let academic_year = match rules::optional_text("academic_year", fields[4]) {
                    Ok(v) => v,
                    Err(reason) => {
                        errors.push(line, Some("academic_year"), reason);
                        None
                    }
                };
                if errors.total != before
                    || !first_seen(
                        &mut self.seen,
                        section_code.clone(),
                        (line, "section_code", "section_code"),
                        errors,
                    )
                {
                    return;
                }
                let key = (
                    academic_year.clone().unwrap_or_default(),
                    course_code.clone(),
                );
                if let Some((name, first)) = self.course_names.get(&key) {
                    if *name != course_name {
                        errors.push(
                            line,
                            Some("course_name"),
                            format!("course {course_code:?} is named {name:?} on line {first}"),
                        );
                        return;
                    }
                } else {
                    self.course_names.insert(key, (course_name.clone(), line));
                }
                rows.push(CourseRow {
                    line,
                    course_code,
                    course_name,
                    section_code,
                    section_name,
                    academic_year,
                });
            }
            Rows::Enrollments(rows) => {
                let email = check("email", rules::email(fields[0]));
                let section_code = check("section_code", rules::text("section_code", fields[1]));
                let role = check("role", rules::one_of("role", fields[2], &ENROLLMENT_ROLES));
                let key = format!("{email}\u{0}{section_code}");
                if errors.total == before
                    && first_seen(&mut self.seen, key, (line, "email", "enrollment"), errors)
                {
                    rows.push(EnrollmentRow {
                        line,
                        email,
                        section_code,
                        role,
                    });
                }
            }
        }
    }
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
        assert_eq!(rows[0].first_name, "Ann, Jr.");
        assert_eq!(rows[0].last_name, "O'Brien\nSmith");
        assert_eq!(rows[0].role, "teacher");
        assert_eq!(
            rows[1].line, 4,
            "a quoted line break moves the next row down"
        );
        assert_eq!(rows[1].email, "b@example.org");
        assert_eq!(rows[1].last_name, "Say \"hi\"");
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
                     f@example.org,,B,student\n";
        let p = parse_str(Kind::Users, text);
        assert_eq!(
            lines(&p),
            [
                (3, Some("email")),
                (4, Some("role")),
                (5, Some("email")),
                (6, Some("first_name")),
                (7, None),
                (8, Some("first_name"))
            ]
        );
        assert!(p.errors.kept[2].reason.contains("first on line 2"));
        assert!(p.errors.kept[3].reason.contains("UTF-8"));
        assert_eq!(p.rows_read, 7);
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
        assert_eq!(lines(&p), [(1, Some("section_code"))]);
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
