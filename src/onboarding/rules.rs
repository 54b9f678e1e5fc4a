//! The platform's validation rules, for values k12ctl writes: roles,
//! emails, subdomains, free text. Pure functions; the database's CHECK
//! constraints are the last line, these are the first (with clear reasons).

/// `Role::VALID_ROLES`, in the order provisioning creates them.
pub const ROLES: [&str; 5] = ["admin", "teacher", "student", "curriculum_lead", "guardian"];

/// `Enrollment::VALID_ROLES`.
pub const ENROLLMENT_ROLES: [&str; 2] = ["teacher", "student"];

/// `AiTaskPolicy::VALID_TASK_TYPES`.
pub const AI_TASK_TYPES: [&str; 12] = [
    "lesson_plan",
    "unit_plan",
    "differentiation",
    "assessment",
    "rewrite",
    "ib_report_summary",
    "ib_family_language",
    "ib_reflection_summary",
    "ib_evidence_gap",
    "ib_inquiry_language",
    "ib_translation_support",
    "ib_proofing",
];

/// Subdomains the platform itself answers on, or that mail and DNS need.
pub const RESERVED_SUBDOMAINS: &[&str] = &[
    "www",
    "api",
    "admin",
    "app",
    "mail",
    "smtp",
    "imap",
    "pop",
    "pop3",
    "ftp",
    "ns",
    "ns1",
    "ns2",
    "dns",
    "mx",
    "webmail",
    "static",
    "assets",
    "cdn",
    "media",
    "status",
    "help",
    "support",
    "docs",
    "blog",
    "dev",
    "staging",
    "test",
    "demo",
    "login",
    "auth",
    "sso",
    "oauth",
    "account",
    "accounts",
    "dashboard",
    "portal",
    "billing",
    "internal",
    "system",
    "root",
    "localhost",
    "ai",
    "gateway",
    "sidekiq",
    "metrics",
    "grafana",
    "k12",
    "k12ctl",
];

/// Longest name, code or other free-text value accepted (characters).
pub const MAX_TEXT_CHARS: usize = 255;
/// RFC 5321: an address is at most 254 characters, its local part 64.
const MAX_EMAIL_CHARS: usize = 254;
const MAX_LOCAL_PART_CHARS: usize = 64;

/// The email, trimmed and lower-cased (the platform stores emails in lower
/// case and compares them so), or why it is not an address.
pub fn email(raw: &str) -> Result<String, String> {
    let email = raw.trim().to_lowercase();
    if email.is_empty() {
        return Err("email is empty".into());
    }
    if email.chars().count() > MAX_EMAIL_CHARS {
        return Err(format!("email is longer than {MAX_EMAIL_CHARS} characters"));
    }
    let Some((local, domain)) = email.split_once('@') else {
        return Err(format!("{raw:?} is not an email address (no @)"));
    };
    let bad = |why: &str| Err(format!("{raw:?} is not an email address ({why})"));
    if local.is_empty() || local.chars().count() > MAX_LOCAL_PART_CHARS {
        return bad("the part before @ must be 1-64 characters");
    }
    let local_ok = local
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
    if !local_ok || local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return bad("unexpected character before @");
    }
    if domain.contains('@') {
        return bad("more than one @");
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 || labels.iter().any(|l| dns_label(l).is_err()) {
        return bad("the domain must be like example.org");
    }
    Ok(email)
}

/// A DNS label: lowercase letters, digits and hyphens, 1-63 characters, no
/// hyphen at either end.
fn dns_label(label: &str) -> Result<(), String> {
    if label.is_empty() || label.len() > 63 {
        return Err("must be 1-63 characters".into());
    }
    if !label
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err("may contain only lowercase letters, digits and hyphens".into());
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err("must not begin or end with a hyphen".into());
    }
    Ok(())
}

/// A tenant's subdomain (its slug): a DNS label of 3-63 characters that the
/// platform does not reserve.
pub fn subdomain(s: &str) -> Result<(), String> {
    if s.len() < 3 {
        return Err(format!("subdomain {s:?} is shorter than 3 characters"));
    }
    dns_label(s).map_err(|why| format!("subdomain {s:?} {why}"))?;
    if RESERVED_SUBDOMAINS.contains(&s) {
        return Err(format!("subdomain {s:?} is reserved"));
    }
    Ok(())
}

/// A required free-text value: trimmed, not empty, at most 255 characters,
/// no NUL (PostgreSQL text cannot hold it) and no other control character
/// than tab and line breaks. Returns the trimmed value.
pub fn text(field: &str, raw: &str) -> Result<String, String> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(format!("{field} is empty"));
    }
    optional_text(field, value).map(|v| v.unwrap_or_default())
}

/// Like `text`, but empty means absent.
pub fn optional_text(field: &str, raw: &str) -> Result<Option<String>, String> {
    let value = raw.trim();
    if value.is_empty() {
        return Ok(None);
    }
    if value.chars().count() > MAX_TEXT_CHARS {
        return Err(format!(
            "{field} is longer than {MAX_TEXT_CHARS} characters"
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(format!("{field} contains a control character"));
    }
    Ok(Some(value.to_owned()))
}

/// One of `allowed`, or a reason naming them.
pub fn one_of(field: &str, raw: &str, allowed: &[&str]) -> Result<String, String> {
    let value = raw.trim().to_lowercase();
    if allowed.contains(&value.as_str()) {
        Ok(value)
    } else if value.is_empty() {
        Err(format!("{field} is empty (one of: {})", allowed.join(", ")))
    } else {
        Err(format!(
            "unknown {field} {raw:?} (one of: {})",
            allowed.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(
            email("  Ana.Lopez@Example.ORG ").unwrap(),
            "ana.lopez@example.org"
        );
        assert_eq!(
            email("o'brien+x@k12.example.org").unwrap(),
            "o'brien+x@k12.example.org"
        );
        for bad in [
            "",
            "plainaddress",
            "a@b",
            "a@@example.org",
            "a@b@example.org",
            "a b@example.org",
            ".a@example.org",
            "a..b@example.org",
            "a@-example.org",
            "a@example..org",
            "zoë@example.org",
            "a@exa_mple.org",
            "x'; DROP TABLE users; --@example.org",
        ] {
            assert!(email(bad).is_err(), "{bad:?} accepted");
        }
        let long = format!("{}@example.org", "a".repeat(65));
        assert!(email(&long).is_err());
    }

    #[test]
    fn subdomains() {
        for ok in [
            "maplewood",
            "riverbend-isd",
            "ps-118",
            "abc",
            &"a".repeat(63),
        ] {
            assert!(subdomain(ok).is_ok(), "{ok:?} refused");
        }
        for (bad, why) in [
            ("ab", "shorter than 3"),
            ("Maplewood", "lowercase"),
            ("-maple", "hyphen"),
            ("maple-", "hyphen"),
            ("maple.wood", "lowercase letters"),
            ("www", "reserved"),
            ("admin", "reserved"),
            ("mail", "reserved"),
            (&"a".repeat(64), "1-63"),
        ] {
            let err = subdomain(bad).unwrap_err();
            assert!(err.contains(why), "{bad:?}: {err}");
        }
    }

    #[test]
    fn text_values() {
        assert_eq!(text("name", "  O'Brien  ").unwrap(), "O'Brien");
        assert_eq!(text("name", "Zoë 🤖").unwrap(), "Zoë 🤖");
        assert!(text("name", "   ").unwrap_err().contains("empty"));
        assert!(text("name", "a\0b").unwrap_err().contains("control"));
        assert!(text("name", &"x".repeat(256)).unwrap_err().contains("255"));
        assert_eq!(optional_text("district", " ").unwrap(), None);
        assert_eq!(one_of("role", " Teacher ", &ROLES).unwrap(), "teacher");
        assert!(one_of("role", "principal", &ROLES)
            .unwrap_err()
            .contains("one of"));
    }
}
