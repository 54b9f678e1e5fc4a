//! What a failed pg_restore (or psql) said, and whose fault it was.
//!
//! pg_restore prints the server's errors without their SQLSTATE (libpq's
//! default verbosity), so the SQLSTATE is read back from the message text,
//! which is fixed per error in PostgreSQL's sources. A failure of the
//! environment (privileges, missing extension files, the connection, disk,
//! memory, connection slots, a server or tool older than the dump) says
//! nothing about the backup: `backup verify` must not mark it bad. Anything
//! else (an unreadable or truncated archive, COPY data rejected) is a data
//! problem.
//!
//! The lines kept for messages, manifests and `backup_records` are the
//! errors themselves, never DETAIL/CONTEXT/`Command was:` lines, and the
//! values an error quotes (`Key (email)=(...)`, `invalid input syntax for
//! type integer: "..."`) are replaced by `...`: student data never leaves
//! the server through an error.

use serde::Serialize;

/// Whose fault a failure was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureClass {
    /// The scratch or target server, the role or the machine: the backup
    /// was not judged.
    Environment,
    /// The archive or its data.
    Data,
}

/// A classified failure of pg_restore or psql.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolFailure {
    pub class: FailureClass,
    /// The SQLSTATE the message stands for, when it is a known one.
    pub sqlstate: Option<&'static str>,
    /// What went wrong in a few words (`insufficient privilege`).
    pub reason: &'static str,
    /// The tool's error lines, scrubbed (see the module header).
    pub message: String,
}

/// Message fragments (lowercase) of environmental failures, with the
/// SQLSTATE and the condition they stand for. The first match wins.
const ENVIRONMENT: &[(&str, Option<&str>, &str)] = &[
    ("permission denied", Some("42501"), "insufficient privilege"),
    ("must be superuser", Some("42501"), "insufficient privilege"),
    ("must be owner of", Some("42501"), "insufficient privilege"),
    (
        "must be member of role",
        Some("42501"),
        "insufficient privilege",
    ),
    ("no space left on device", Some("53100"), "disk full"),
    ("could not extend file", Some("53100"), "disk full"),
    ("out of memory", Some("53200"), "out of memory"),
    (
        "too many connections",
        Some("53300"),
        "too many connections",
    ),
    (
        "remaining connection slots are reserved",
        Some("53300"),
        "too many connections",
    ),
    (
        "sorry, too many clients",
        Some("53300"),
        "too many connections",
    ),
    (
        "could not open extension control file",
        Some("58P01"),
        "extension files missing",
    ),
    (
        "could not access file",
        Some("58P01"),
        "library files missing",
    ),
    (
        "could not load library",
        Some("58P01"),
        "library files missing",
    ),
    ("terminating connection", Some("57P01"), "connection lost"),
    (
        "server closed the connection unexpectedly",
        Some("08006"),
        "connection lost",
    ),
    ("connection to server", Some("08006"), "cannot connect"),
    ("could not connect to", Some("08006"), "cannot connect"),
    (
        "could not translate host name",
        Some("08006"),
        "cannot connect",
    ),
    (
        "password authentication failed",
        Some("28P01"),
        "authentication failed",
    ),
    (
        "no pg_hba.conf entry",
        Some("28000"),
        "authentication failed",
    ),
    (
        "canceling statement due to statement timeout",
        Some("57014"),
        "statement timeout",
    ),
    (
        "canceling statement due to lock timeout",
        Some("55P03"),
        "lock timeout",
    ),
    (
        "unsupported version",
        None,
        "pg_restore older than the dump",
    ),
    (
        "unrecognized configuration parameter",
        Some("42704"),
        "server older than the dump",
    ),
];

/// A role named in the archive that the server does not have.
const MISSING_ROLE: (&str, &str) = ("role \"", "\" does not exist");

/// Message fragments (lowercase) of data failures worth naming.
const DATA: &[(&str, Option<&str>, &str)] = &[
    ("invalid input syntax", Some("22P02"), "COPY data rejected"),
    (
        "extra data after last expected column",
        Some("22P04"),
        "COPY data rejected",
    ),
    (
        "missing data for column",
        Some("22P04"),
        "COPY data rejected",
    ),
    ("duplicate key value", Some("23505"), "COPY data rejected"),
    (
        "violates foreign key constraint",
        Some("23503"),
        "COPY data rejected",
    ),
    (
        "violates not-null constraint",
        Some("23502"),
        "COPY data rejected",
    ),
    (
        "violates check constraint",
        Some("23514"),
        "COPY data rejected",
    ),
    ("invalid byte sequence", Some("22021"), "COPY data rejected"),
    ("is out of range", Some("22003"), "COPY data rejected"),
    ("unexpected end of file", None, "archive truncated"),
    ("could not read from input file", None, "archive unreadable"),
    ("did not find magic string", None, "archive unreadable"),
    ("could not find block id", None, "archive unreadable"),
];

/// Classify a tool's stderr. `status` is how it ended (`exit status: 1`).
pub fn classify(tool: &str, status: &str, stderr: &str) -> ToolFailure {
    let lower = stderr.to_lowercase();
    let (class, sqlstate, reason) = ENVIRONMENT
        .iter()
        .find(|(needle, _, _)| lower.contains(needle))
        .map(|(_, s, r)| (FailureClass::Environment, *s, *r))
        .or_else(|| {
            missing_role(&lower).then_some((
                FailureClass::Environment,
                Some("42704"),
                "role missing on the server",
            ))
        })
        .or_else(|| {
            DATA.iter()
                .find(|(needle, _, _)| lower.contains(needle))
                .map(|(_, s, r)| (FailureClass::Data, *s, *r))
        })
        .unwrap_or((FailureClass::Data, None, "restore failed"));
    let lines = error_lines(stderr, 3);
    let code = sqlstate
        .map(|s| format!(" [SQLSTATE {s}]"))
        .unwrap_or_default();
    let message = if lines.is_empty() {
        format!("{tool} failed ({status}){code}")
    } else {
        format!("{tool} failed ({status}){code}: {lines}")
    };
    ToolFailure {
        class,
        sqlstate,
        reason,
        message,
    }
}

fn missing_role(lower: &str) -> bool {
    lower.lines().any(|l| {
        l.find(MISSING_ROLE.0)
            .is_some_and(|at| l[at + MISSING_ROLE.0.len()..].contains(MISSING_ROLE.1))
    })
}

/// The last `n` error lines of a tool's stderr, scrubbed: only lines that
/// state an error (`pg_restore: error: ...`, `ERROR:`, `FATAL:`, `HINT:`),
/// with quoted values replaced by `...`.
pub fn error_lines(stderr: &str, n: usize) -> String {
    let kept: Vec<String> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| is_error_line(l))
        .map(scrub_values)
        .collect();
    let start = kept.len().saturating_sub(n);
    kept[start..].join("; ")
}

fn is_error_line(line: &str) -> bool {
    const KEEP: [&str; 6] = [
        "pg_restore:",
        "psql:",
        "ERROR:",
        "FATAL:",
        "HINT:",
        "could not",
    ];
    !line.is_empty() && KEEP.iter().any(|k| line.starts_with(k))
}

/// Replace the values an error message quotes: `(cols)=(values)`, and a
/// double-quoted string after `: ` or `value ` (identifiers such as
/// `relation "x"` or `extension "x"` are kept).
pub fn scrub_values(line: &str) -> String {
    let line = scrub_key_values(line);
    let mut out = String::with_capacity(line.len());
    let mut rest = line.as_str();
    while let Some(at) = rest.find('"') {
        let (before, from_quote) = rest.split_at(at);
        out.push_str(before);
        let is_value = before.ends_with(": ") || before.ends_with("value ");
        match closing_quote(&from_quote[1..]) {
            Some(end) if is_value => {
                out.push_str("\"...\"");
                rest = &from_quote[1 + end + 1..];
            }
            Some(end) => {
                out.push_str(&from_quote[..end + 2]);
                rest = &from_quote[end + 2..];
            }
            None if is_value => {
                out.push_str("\"...");
                rest = "";
            }
            None => {
                out.push_str(from_quote);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Index of the quote closing a double-quoted string (`""` is an escaped quote).
fn closing_quote(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'"' {
            if bytes.get(i + 1) == Some(&b'"') {
                i += 2;
                continue;
            }
            return Some(i);
        }
        i += 1;
    }
    None
}

/// `Key (email)=(ada@example.org)` -> `Key (email)=(...)`.
fn scrub_key_values(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(at) = rest.find(")=(") {
        out.push_str(&rest[..at + 3]);
        let after = &rest[at + 3..];
        // The values end at the last ")" before the message goes on.
        let end = after
            .rfind(") ")
            .or_else(|| after.rfind(')'))
            .unwrap_or(after.len());
        out.push_str("...");
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXTENSION: &str = "pg_restore: error: could not execute query: ERROR:  permission denied to create extension \"pg_stat_statements\"\nHINT:  Must be superuser to create this extension.\nCommand was: CREATE EXTENSION IF NOT EXISTS pg_stat_statements WITH SCHEMA public;\n";

    #[test]
    fn a_privilege_error_is_the_environment() {
        let f = classify("pg_restore", "exit status: 1", EXTENSION);
        assert_eq!(f.class, FailureClass::Environment);
        assert_eq!(f.sqlstate, Some("42501"));
        assert_eq!(
            f.message,
            "pg_restore failed (exit status: 1) [SQLSTATE 42501]: pg_restore: error: could not \
             execute query: ERROR:  permission denied to create extension \"pg_stat_statements\"; \
             HINT:  Must be superuser to create this extension."
        );
    }

    #[test]
    fn environment_conditions_are_recognised() {
        for (stderr, state) in [
            ("pg_restore: error: connection to server at \"127.0.0.1\", port 5432 failed: FATAL:  too many connections for role \"lp\"", "53300"),
            ("ERROR:  could not extend file \"base/1/2\": No space left on device", "53100"),
            ("ERROR:  out of memory\nDETAIL:  Failed on request of size 8.", "53200"),
            ("ERROR:  could not open extension control file \"/usr/share/x.control\": No such file or directory", "58P01"),
            ("FATAL:  terminating connection due to administrator command", "57P01"),
            ("pg_restore: error: could not execute query: server closed the connection unexpectedly", "08006"),
            ("ERROR:  unrecognized configuration parameter \"transaction_timeout\"", "42704"),
            ("ERROR:  role \"rails\" does not exist", "42704"),
        ] {
            let f = classify("pg_restore", "exit status: 1", stderr);
            assert_eq!(f.class, FailureClass::Environment, "{stderr}");
            assert_eq!(f.sqlstate, Some(state), "{stderr}");
        }
        let old = classify(
            "pg_restore",
            "exit status: 1",
            "pg_restore: error: unsupported version (1.16) in file header",
        );
        assert_eq!(old.class, FailureClass::Environment);
    }

    #[test]
    fn data_problems_are_data() {
        for stderr in [
            "pg_restore: error: COPY failed for table \"users\": ERROR:  invalid input syntax for type integer: \"12x\"\nCONTEXT:  COPY users, line 3, column id: \"12x\"",
            "pg_restore: error: could not read from input file: end of file",
            "pg_restore: error: did not find magic string in file header",
            "pg_restore: error: unexpected end of file",
            "something nobody has seen before",
        ] {
            assert_eq!(
                classify("pg_restore", "exit status: 1", stderr).class,
                FailureClass::Data,
                "{stderr}"
            );
        }
    }

    #[test]
    fn quoted_values_never_survive() {
        let stderr = "pg_restore: error: COPY failed for table \"users\": ERROR:  duplicate key value violates unique constraint \"users_email_key\"\nDETAIL:  Key (email)=(ada@students.example.org) already exists.\nCONTEXT:  COPY users, line 2: \"2\tada@students.example.org\"\n";
        let f = classify("pg_restore", "exit status: 1", stderr);
        assert_eq!(f.sqlstate, Some("23505"));
        assert!(!f.message.contains("ada@"), "{}", f.message);
        assert!(f.message.contains("unique constraint \"users_email_key\""));
        assert!(f.message.contains("COPY failed for table \"users\""));

        let syntax = "ERROR:  invalid input syntax for type integer: \"4 Privet \"\"Drive\"\"\"";
        assert_eq!(
            scrub_values(syntax),
            "ERROR:  invalid input syntax for type integer: \"...\""
        );
        assert_eq!(
            scrub_values("ERROR:  value \"99999999999\" is out of range for type integer"),
            "ERROR:  value \"...\" is out of range for type integer"
        );
        assert_eq!(
            scrub_values("DETAIL:  Key (a, b)=(1, x) is not present in table \"t\"."),
            "DETAIL:  Key (a, b)=(...) is not present in table \"t\"."
        );
    }
}
