//! The exit-code table, in one place.
//!
//! Commands return `anyhow::Error`s; `code_for` walks the error chain for the
//! typed errors below and maps them to the documented codes. Anything else is
//! "the operation failed" (1). Scripts and monitors depend on these numbers:
//! they are documented in the README and the man page.

use std::fmt;

/// Process exit codes (DESIGN.md section 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    Success = 0,
    Failure = 1,
    Usage = 2,
    Refused = 3,
    DataRejected = 4,
    Locked = 5,
    Interrupted = 130,
    Terminated = 143,
}

impl ExitCode {
    pub fn as_i32(self) -> i32 {
        self as i32
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
}
