//! The `Printer` decides how a report reaches stdout: a human rendering or
//! pretty JSON. Errors are printed by `main`, on stderr.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

use crate::cli::OutputFormat;

/// A command's result: serializable for `--output json`, renderable for people.
pub trait Report: Serialize {
    /// The human rendering (tables, a summary line). Ends without a newline.
    fn human(&self, style: &Style) -> String;
}

/// Presentation choices a report may use while rendering.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct Printer {
    pub format: OutputFormat,
    pub style: Style,
}

impl Printer {
    pub fn is_json(&self) -> bool {
        self.format == OutputFormat::Json
    }

    /// Print a report to stdout. A closed stdout (`| head`) surfaces as an
    /// io::Error of kind BrokenPipe, which `main` treats as success.
    pub fn print<R: Report>(&self, report: &R) -> Result<()> {
        let mut out = std::io::stdout().lock();
        match self.format {
            OutputFormat::Json => {
                serde_json::to_writer_pretty(&mut out, report)?;
                writeln!(out)?;
            }
            OutputFormat::Human => {
                let text = report.human(&self.style);
                if !text.is_empty() {
                    writeln!(out, "{text}")?;
                }
            }
        }
        out.flush()?;
        Ok(())
    }
}
