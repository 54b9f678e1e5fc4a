//! k12ctl: the operator CLI of the K-12 learning platform.
//!
//! Dependencies point one way: `commands -> (pipeline, health) -> (db, storage)`,
//! with `onboarding` (pure rules and formats) below `commands` and `db`;
//! `db` and `storage` know nothing of clap or of output.

pub(crate) mod cli;
pub(crate) mod commands;
pub(crate) mod config;
pub(crate) mod db;
pub(crate) mod exit;
pub(crate) mod health;
pub(crate) mod notify;
pub(crate) mod onboarding;
pub(crate) mod output;
pub(crate) mod pipeline;
pub(crate) mod secret;
pub(crate) mod signals;
pub(crate) mod storage;

// What the binary uses, and nothing more: everything else is private to the
// crate, so that the compiler reports whatever nothing uses.
pub use cli::{Cli, GlobalArgs};
pub use config::{load_dotenv, DotEnv};
pub use exit::{usage_code, ExitCode};

use std::io::IsTerminal;

use cli::{ColorChoice, Command, Operation, OutputFormat};
use commands::Context;
use output::printer::{Printer, Style};

/// Whether to use ANSI colors on a stream.
pub fn use_color(choice: ColorChoice, is_terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => is_terminal && std::env::var_os("NO_COLOR").is_none(),
    }
}

/// Resolve settings, run the command, print the error if any; returns the
/// exit code. `main` only parses, sets up logging and the runtime.
pub async fn run(cli: Cli, dotenv: DotEnv) -> ExitCode {
    let Cli { global, command } = cli;
    // `health` speaks the monitoring-plugin convention, errors included.
    let health = matches!(command, Command::Operation(Operation::Health(_)));
    let result = match command {
        // These need no settings: a broken config must not stop them.
        Command::Completions(args) => commands::packaging::completions(args),
        Command::Man(args) => commands::packaging::man(args),
        Command::Operation(operation) => operate(operation, &global, dotenv).await,
    };
    match result {
        Ok(()) => ExitCode::Success,
        Err(err) if is_broken_pipe(&err) => ExitCode::Success,
        Err(err) => {
            let code = if health {
                exit::code_for_health(&err)
            } else {
                exit::code_for(&err)
            };
            if !exit::is_verdict(&err) {
                let format = config::output_format_for_errors(&global);
                report_error(&err, code, format == OutputFormat::Json);
            }
            code
        }
    }
}

/// Resolve the settings and run an operation with them.
async fn operate(operation: Operation, global: &GlobalArgs, dotenv: DotEnv) -> anyhow::Result<()> {
    let interactive = std::io::stderr().is_terminal() && std::io::stdin().is_terminal();
    let settings = config::resolve(global, &dotenv, std::io::stderr().is_terminal())?;
    let interrupt = signals::Interrupt::install()?;
    let ctx = Context {
        printer: Printer {
            format: settings.output.format,
            style: Style {
                color: use_color(global.color, std::io::stdout().is_terminal()),
            },
        },
        settings,
        interrupt,
        dotenv,
        interactive,
    };
    commands::dispatch(operation, &ctx).await
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// `error: ...` on stderr; when results are JSON (`--output json`,
/// `K12CTL_OUTPUT` or `output: json` in the config file), a JSON object
/// instead, so a drill can parse why it failed.
fn report_error(err: &anyhow::Error, code: ExitCode, json: bool) {
    let message = format!("{err:#}");
    if json {
        let obj = serde_json::json!({ "error": message, "exit_code": code.as_i32() });
        eprintln!("{obj}");
    } else {
        eprintln!("error: {message}");
    }
}
