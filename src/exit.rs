//! The exit-code table, in one place.
//!
//! Commands return `anyhow::Error`s; `code_for` walks the error chain for the
//! typed errors below and maps them to the documented codes. Anything else is
//! "the operation failed" (1). Scripts and monitors depend on these numbers:
//! they are documented in the README and the man page.
//!
//! `health` follows the monitoring-plugin convention instead (0 healthy,
//! 1 warning, 2 critical, 3 unknown): `code_for_health` maps its errors, so a
//! configuration error there is "unknown" (3), never a verdict.

use std::fmt;

/// Process exit codes (DESIGN.md section 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    Success,
    Failure,
    Usage,
    Refused,
    DataRejected,
    Locked,
    Interrupted,
    Terminated,
    /// `health`: a check is at its warning level.
    HealthWarning,
    /// `health`: a check is critical.
    HealthCritical,
    /// `health`: no verdict, the configuration is bad or the tool failed.
    HealthUnknown,
}

impl ExitCode {
    /// The table. `health`'s codes reuse 1-3 with their own meaning.
    pub fn as_i32(self) -> i32 {
        match self {
            Self::Success => 0,
            Self::Failure => 1,
            Self::Usage => 2,
            Self::Refused => 3,
            Self::DataRejected => 4,
            Self::Locked => 5,
            Self::Interrupted => 130,
            Self::Terminated => 143,
            Self::HealthWarning => 1,
            Self::HealthCritical => 2,
            Self::HealthUnknown => 3,
        }
    }
}

/// An error that carries its own exit code. Create it with the helpers below.
#[derive(Debug)]
pub struct Coded {
    pub code: ExitCode,
    pub message: String,
}

impl fmt::Display for Coded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Coded {}

fn coded(code: ExitCode, message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Coded {
        code,
        message: message.into(),
    })
}

/// Usage or configuration error (exit 2).
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    coded(ExitCode::Usage, message)
}

/// Refused: confirmation declined or destructive action without `--yes` (exit 3).
pub fn refused(message: impl Into<String>) -> anyhow::Error {
    coded(ExitCode::Refused, message)
}

/// The data is wrong, not the tool: verification failed, import rejected (exit 4).
pub fn rejected(message: impl Into<String>) -> anyhow::Error {
    coded(ExitCode::DataRejected, message)
}

/// Another run holds the lock (exit 5).
pub fn locked(message: impl Into<String>) -> anyhow::Error {
    coded(ExitCode::Locked, message)
}

/// A verdict that the command already reported on stdout: exit with its code
/// and print nothing more (`health` warning or critical).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("exit status {0:?} (already reported)")]
pub struct Verdict(pub ExitCode);

/// Exit with `code` after a report that says why.
pub fn verdict(code: ExitCode) -> anyhow::Error {
    anyhow::Error::new(Verdict(code))
}

/// Whether the error is a reported verdict (no `error:` line is printed).
pub fn is_verdict(err: &anyhow::Error) -> bool {
    err.downcast_ref::<Verdict>().is_some()
}

/// A signal stopped the run; the code follows the shell convention 128 + signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Interrupted {
    #[error("interrupted by SIGINT")]
    Sigint,
    #[error("terminated by SIGTERM")]
    Sigterm,
}

/// The exit code for an error: the first typed error found in the chain wins.
pub fn code_for(err: &anyhow::Error) -> ExitCode {
    for cause in err.chain() {
        if let Some(c) = cause.downcast_ref::<Coded>() {
            return c.code;
        }
        if let Some(v) = cause.downcast_ref::<Verdict>() {
            return v.0;
        }
        if let Some(i) = cause.downcast_ref::<Interrupted>() {
            return match i {
                Interrupted::Sigint => ExitCode::Interrupted,
                Interrupted::Sigterm => ExitCode::Terminated,
            };
        }
        if cause.downcast_ref::<clap::Error>().is_some() {
            return ExitCode::Usage;
        }
    }
    ExitCode::Failure
}

/// The exit code of an error in `health`: its verdicts and signals keep
/// their codes; anything else (bad configuration, usage, a failure of the
/// tool) means no verdict could be given: unknown (3).
pub fn code_for_health(err: &anyhow::Error) -> ExitCode {
    match code_for(err) {
        c @ (ExitCode::HealthWarning
        | ExitCode::HealthCritical
        | ExitCode::Interrupted
        | ExitCode::Terminated) => c,
        _ => ExitCode::HealthUnknown,
    }
}

/// The exit code for a command-line error: 2, or 3 for `health`.
pub fn usage_code(health: bool) -> ExitCode {
    if health {
        ExitCode::HealthUnknown
    } else {
        ExitCode::Usage
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn typed_errors_keep_their_code_through_context() {
        let err = Err::<(), _>(locked("held"))
            .context("backup run")
            .unwrap_err();
        assert_eq!(code_for(&err), ExitCode::Locked);
        let err = anyhow::Error::new(Interrupted::Sigterm).context("upload");
        assert_eq!(code_for(&err).as_i32(), 143);
        assert_eq!(code_for(&anyhow::anyhow!("boom")), ExitCode::Failure);
    }

    #[test]
    fn health_maps_configuration_errors_to_unknown() {
        let err = usage("no database configured");
        assert_eq!(code_for_health(&err).as_i32(), 3);
        assert_eq!(code_for_health(&anyhow::anyhow!("boom")).as_i32(), 3);
        let err = verdict(ExitCode::HealthCritical);
        assert_eq!(code_for_health(&err).as_i32(), 2);
        assert!(is_verdict(&err));
        let err = anyhow::Error::new(Interrupted::Sigint);
        assert_eq!(code_for_health(&err).as_i32(), 130);
        assert_eq!(usage_code(true).as_i32(), 3);
        assert_eq!(usage_code(false).as_i32(), 2);
    }
}
