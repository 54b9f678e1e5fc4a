//! Prometheus text exposition for node_exporter's textfile collector:
//! gauges rendered in base units, and files replaced atomically (temporary
//! file in the same directory, fsync, rename), so the collector never reads
//! half a file.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use anyhow::{Context, Result};

/// One gauge sample.
#[derive(Debug, Clone)]
pub struct Gauge {
    pub name: String,
    pub help: &'static str,
    pub value: f64,
}

impl Gauge {
    pub fn new(name: impl Into<String>, help: &'static str, value: f64) -> Self {
        Self {
            name: name.into(),
            help,
            value,
        }
    }
}

/// A value as the exposition format writes it: `+Inf`, no float noise.
pub fn number(v: f64) -> String {
    if v == f64::INFINITY {
        return "+Inf".to_owned();
    }
    if v == f64::NEG_INFINITY {
        return "-Inf".to_owned();
    }
    let s = format!("{v:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-" || s == "-0" {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

/// The exposition text; HELP and TYPE once per metric name, in first-seen order.
pub fn render(gauges: &[Gauge]) -> String {
    let mut out = String::new();
    let mut described: Vec<&str> = Vec::new();
    for g in gauges {
        if !described.contains(&g.name.as_str()) {
            described.push(&g.name);
            let _ = writeln!(out, "# HELP {} {}", g.name, g.help);
            let _ = writeln!(out, "# TYPE {} gauge", g.name);
        }
        let _ = writeln!(out, "{} {}", g.name, number(g.value));
    }
    out
}

/// The value of an unlabelled gauge in an existing file, if any (to carry a
/// last-success timestamp over a failed run).
pub fn previous_value(path: &Path, name: &str) -> Option<f64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// Replace `path` with `text` atomically; readable by the collector (0644).
pub fn write_atomically(path: &Path, text: &str) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let file_name = path
        .file_name()
        .with_context(|| format!("{} is not a file path", path.display()))?;
    // node_exporter reads only *.prom files: a leftover temp file is ignored.
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{}.", file_name.to_string_lossy()))
        .suffix(".tmp")
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    tmp.write_all(text.as_bytes())
        .and_then(|()| tmp.as_file().sync_all())
        .and_then(|()| {
            tmp.as_file()
                .set_permissions(std::fs::Permissions::from_mode(0o644))
        })
        .with_context(|| format!("cannot write {}", tmp.path().display()))?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauges_render_with_help_type_and_plain_numbers() {
        assert_eq!(number(f64::INFINITY), "+Inf");
        assert_eq!(number(0.00123), "0.00123");
        assert_eq!(number(108000.0), "108000");
        let text = render(&[
            Gauge::new("k12_a", "A.", 1.5),
            Gauge::new("k12_b", "B.", 2.0),
        ]);
        assert_eq!(
            text,
            "# HELP k12_a A.\n# TYPE k12_a gauge\nk12_a 1.5\n# HELP k12_b B.\n# TYPE k12_b gauge\nk12_b 2\n"
        );
    }

    #[test]
    fn the_file_is_replaced_not_rewritten() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k12ctl.prom");
        write_atomically(&path, "a 1\n").unwrap();
        let first = std::fs::metadata(&path).unwrap().ino();
        write_atomically(&path, "a 2\n").unwrap();
        assert_ne!(std::fs::metadata(&path).unwrap().ino(), first);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a 2\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let mode = std::fs::metadata(&path).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o644);
    }

    #[test]
    fn previous_values_are_found() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.prom");
        write_atomically(
            &path,
            &render(&[Gauge::new("k12_last", "L.", 1700000000.0)]),
        )
        .unwrap();
        assert_eq!(previous_value(&path, "k12_last"), Some(1700000000.0));
        assert_eq!(previous_value(&path, "k12_las"), None);
    }
}
