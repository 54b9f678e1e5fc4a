//! Table and number formatting shared by the human renderings.

use chrono::{DateTime, Utc};
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, Color, ContentArrangement, Table};

use super::printer::Style;

/// A table with the house style: condensed borders, wrapping to the terminal.
pub fn table<I, S>(headers: I) -> Table
where
    I: IntoIterator<Item = S>,
    S: Into<Cell>,
{
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(headers);
    t
}

/// A status cell, colored when the style allows: green good, red bad,
/// yellow for anything in between.
pub fn status_cell(status: &str, style: &Style) -> Cell {
    let cell = Cell::new(status);
    if !style.color {
        return cell;
    }
    match status {
        "completed"
        | "verified"
        | "healthy"
        | "ok"
        | "created"
        | "unchanged"
        | "done"
        | "already provisioned" => cell.fg(Color::Green),
        "failed" | "verification_failed" | "critical" | "error" => cell.fg(Color::Red),
        _ => cell.fg(Color::Yellow),
    }
}

/// 1536 -> "1.5 KiB"
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// 3725.0 -> "1h 2m 5s"
pub fn duration(seconds: f64) -> String {
    if seconds < 10.0 {
        return format!("{seconds:.1}s");
    }
    let s = seconds.round() as u64;
    let (h, m, s) = (s / 3600, (s % 3600) / 60, s % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m {s}s"),
        _ => format!("{h}h {m}m {s}s"),
    }
}

/// How long ago, coarsely: "5m", "3h", "2d".
pub fn age(then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - then).num_seconds().max(0);
    match secs {
        0..=119 => format!("{secs}s"),
        120..=7_199 => format!("{}m", secs / 60),
        7_200..=172_799 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(5 * 1024 * 1024 * 1024), "5.0 GiB");
        assert_eq!(duration(3.25), "3.2s");
        assert_eq!(duration(3725.0), "1h 2m 5s");
        assert_eq!(duration(65.0), "1m 5s");
        let now = Utc::now();
        assert_eq!(age(now - chrono::Duration::hours(30), now), "30h");
        assert_eq!(age(now - chrono::Duration::days(3), now), "3d");
    }
}
