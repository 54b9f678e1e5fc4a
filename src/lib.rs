//! k12ctl: the operator CLI of the K-12 learning platform.
//!
//! Dependencies point one way: `commands -> (pipeline, health) -> (db, storage)`,
//! with `onboarding` (pure rules and formats) below `commands` and `db`;
//! `db` and `storage` know nothing of clap or of output.

pub mod cli;
pub mod commands;
pub mod config;
pub mod db;
pub mod exit;
pub mod health;
pub mod notify;
pub mod onboarding;
pub mod output;
pub mod pipeline;
pub mod secret;
pub mod signals;
pub mod storage;

use std::io::IsTerminal;

use cli::{Cli, ColorChoice, Command, OutputFormat};
use commands::Context;
use exit::ExitCode;
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
pub async fn run(cli: Cli, dotenv: config::DotEnv) -> ExitCode {
    let json_errors = cli.global.output == Some(OutputFormat::Json);
    // `health` speaks the monitoring-plugin convention, errors included.
    let health = matches!(cli.command, Command::Health(_));
    let result = async {
        if let Command::Completions(_) | Command::Man(_) = cli.command {
            // These need no settings: a broken config must not stop them.
            let ctx_free = match cli.command {
                Command::Completions(a) => commands::packaging::completions(a),
                Command::Man(a) => commands::packaging::man(a),
                _ => Ok(()),
            };
            return ctx_free;
        }
        let interactive = std::io::stderr().is_terminal() && std::io::stdin().is_terminal();
        let settings = config::resolve(&cli.global, &dotenv, std::io::stderr().is_terminal())?;
        let interrupt = signals::Interrupt::install()?;
        let ctx = Context {
            printer: Printer {
                format: settings.output.format,
                style: Style {
                    color: use_color(cli.global.color, std::io::stdout().is_terminal()),
                },
                quiet: settings.output.quiet,
            },
            settings,
            interrupt,
            dotenv,
            interactive,
        };
        commands::dispatch(cli.command, &ctx).await
    }
    .await;
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
                report_error(&err, code, json_errors);
            }
            code
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// `error: ...` on stderr; with `--output json`, a JSON object as well, so a
/// drill can parse why it failed.
fn report_error(err: &anyhow::Error, code: ExitCode, json: bool) {
    let message = format!("{err:#}");
    if json {
        let obj = serde_json::json!({ "error": message, "exit_code": code.as_i32() });
        eprintln!("{obj}");
    } else {
        eprintln!("error: {message}");
    }
}
