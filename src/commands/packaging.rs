//! `completions SHELL` and `man`: generated from the clap definition, so they
//! never drift from the binary. The copies under `completions/` and `man/`
//! are written with `--dir` and checked by a test.

use std::io::Write;
use std::path::Path;

use anyhow::{Context as _, Result};
use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::{Cli, CompletionsArgs, ManArgs};

/// Fixed so the generated pages are reproducible.
const MAN_DATE: &str = "2026-11";

pub fn completions(args: CompletionsArgs) -> Result<()> {
    if let Some(dir) = args.dir {
        for (file, contents) in completion_files() {
            std::fs::write(dir.join(file), contents)
                .with_context(|| format!("cannot write {}", dir.join(file).display()))?;
        }
        return Ok(());
    }
    // Generated into memory first: clap_complete panics on a write error,
    // and a closed stdout (`| head`) must not be a crash.
    let mut buf = Vec::new();
    if let Some(shell) = args.shell {
        clap_complete::generate(shell, &mut Cli::command(), "k12ctl", &mut buf);
    }
    let mut out = std::io::stdout().lock();
    out.write_all(&buf)?;
    out.flush()?;
    Ok(())
}

/// The main page on stdout, or every page into a directory.
pub fn man(args: ManArgs) -> Result<()> {
    if let Some(dir) = args.dir {
        write_man_pages(&dir)?;
        return Ok(());
    }
    let mut out = std::io::stdout().lock();
    render_page(&Cli::command(), &mut out)?;
    out.flush()?;
    Ok(())
}

fn render_page(cmd: &clap::Command, out: &mut dyn Write) -> Result<()> {
    clap_mangen::Man::new(cmd.clone())
        .date(MAN_DATE)
        .render(out)
        .context("cannot render the man page")
}

/// Every page: k12ctl.1, k12ctl-backup.1, k12ctl-backup-run.1, ...
pub fn write_man_pages(dir: &Path) -> Result<Vec<String>> {
    let mut cmd = Cli::command();
    cmd.build();
    let mut written = Vec::new();
    write_tree(&cmd, "k12ctl", dir, &mut written)?;
    Ok(written)
}

fn write_tree(
    cmd: &clap::Command,
    name: &str,
    dir: &Path,
    written: &mut Vec<String>,
) -> Result<()> {
    let page = cmd.clone().name(name.to_owned());
    let file = format!("{name}.1");
    let mut buf = Vec::new();
    render_page(&page, &mut buf)?;
    std::fs::write(dir.join(&file), buf).with_context(|| format!("cannot write {file}"))?;
    written.push(file);
    for sub in cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        write_tree(sub, &format!("{name}-{}", sub.get_name()), dir, written)?;
    }
    Ok(())
}

/// Completion scripts for the shells we ship: (file name, contents).
pub fn completion_files() -> Vec<(&'static str, Vec<u8>)> {
    [
        (Shell::Bash, "k12ctl.bash"),
        (Shell::Zsh, "_k12ctl"),
        (Shell::Fish, "k12ctl.fish"),
    ]
    .into_iter()
    .map(|(shell, file)| {
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "k12ctl", &mut buf);
        (file, buf)
    })
    .collect()
}
