//! Entry point: load `.env`, parse, set up logging and the runtime, run, and
//! turn the result into an exit code.

use std::io::IsTerminal;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use k12ctl::{Cli, ExitCode, GlobalArgs};

fn main() -> std::process::ExitCode {
    let code = real_main();
    std::process::ExitCode::from(code.as_i32() as u8)
}

fn real_main() -> ExitCode {
    // Before parsing: `.env` entries become environment defaults for clap.
    let dotenv = match k12ctl::load_dotenv() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::Usage;
        }
    };
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                k12ctl::usage_code(invoked_health())
            } else {
                ExitCode::Success
            };
        }
    };
    init_logging(&cli.global);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::Failure;
        }
    };
    runtime.block_on(k12ctl::run(cli, dotenv))
}

/// Whether the command line names `health`, even when it does not parse
/// (`health --check typo` exits 3, the monitoring-plugin "unknown").
fn invoked_health() -> bool {
    use clap::CommandFactory;
    Cli::command()
        .ignore_errors(true)
        .try_get_matches()
        .is_ok_and(|m| m.subcommand_name() == Some("health"))
}

/// Logs go to stderr: `-q` errors only, default info, `-v` debug for k12ctl,
/// `-vv` debug for the libraries too; `K12CTL_LOG` overrides (EnvFilter syntax).
/// Off a terminal every line carries a UTC timestamp, for journals and cron mail.
fn init_logging(global: &GlobalArgs) {
    let default = match (global.quiet, global.verbose) {
        (true, _) => "error",
        // The AWS SDK warns with a screen of internals for each credential
        // source that failed; the error names what is missing in one line.
        (false, 0) => "k12ctl=info,warn,aws_config=error",
        (false, 1) => "k12ctl=debug,warn",
        (false, _) => "debug",
    };
    let filter = EnvFilter::try_from_env("K12CTL_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let terminal = std::io::stderr().is_terminal();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(k12ctl::use_color(global.color, terminal));
    if terminal {
        builder.without_time().init();
    } else {
        builder.init();
    }
}
