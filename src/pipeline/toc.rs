//! The archive's table of contents, read before a restore, so that the
//! extensions the restoring role cannot create are left out (`pg_restore -L`)
//! instead of failing the whole restore.
//!
//! A custom-format archive written to a pipe starts with its table of
//! contents, so `pg_restore -l` reads only the head of the stream and exits.
//! The chunks it was fed are kept (`Pending`) and replayed to the real load:
//! nothing is downloaded twice, and memory holds the head only.

use std::collections::VecDeque;
use std::io::Write;

use anyhow::{Context, Result};
use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use super::manifest::SkippedExtension;
use super::pg_tools::PgTool;
use crate::db::{self, admin, ConnInfo};

/// More than this buffered without the table of contents: give up listing
/// and restore everything (a schema this large is not worth the memory).
const TOC_BUFFER_LIMIT: usize = 256 * 1024 * 1024;

/// The decoded stream: chunks already read (and kept), then the rest.
pub struct Pending {
    buffered: VecDeque<Bytes>,
    rx: mpsc::Receiver<Bytes>,
}

impl Pending {
    pub fn new(first: Bytes, rx: mpsc::Receiver<Bytes>) -> Self {
        Self {
            buffered: VecDeque::from([first]),
            rx,
        }
    }

    pub async fn next(&mut self) -> Option<Bytes> {
        match self.buffered.pop_front() {
            Some(chunk) => Some(chunk),
            None => self.rx.recv().await,
        }
    }
}

/// The archive's table of contents (`pg_restore -l`), from the head of the
/// stream. None when pg_restore cannot list it (a damaged archive: the load
/// will say so) or it is too large to hold.
pub async fn read_list(tool: &PgTool, pending: &mut Pending) -> Result<Option<String>> {
    let mut child = tool
        .offline_command()
        .arg("-l")
        .spawn()
        .with_context(|| format!("cannot start {} -l", tool.name))?;
    let mut stdin = child.stdin.take();
    let mut stdout = child.stdout.take().context("no stdout")?;
    let listing = tokio::spawn(async move {
        let mut text = String::new();
        stdout.read_to_string(&mut text).await.map(|_| text)
    });
    let stderr =
        super::pg_tools::collect_stderr("pg_restore -l", child.stderr.take().context("no stderr")?);
    let mut fed = 0usize;
    let mut index = 0usize;
    while let Some(pipe) = stdin.as_mut() {
        let chunk = match pending.buffered.get(index) {
            Some(c) => c.clone(),
            None => match pending.rx.recv().await {
                Some(c) => {
                    pending.buffered.push_back(c.clone());
                    c
                }
                None => break,
            },
        };
        index += 1;
        fed += chunk.len();
        // pg_restore closes its end once it has the table of contents.
        if pipe.write_all(&chunk).await.is_err() || fed > TOC_BUFFER_LIMIT {
            break;
        }
    }
    drop(stdin);
    if fed > TOC_BUFFER_LIMIT {
        let _ = child.start_kill();
    }
    let status = child
        .wait()
        .await
        .context("cannot wait for pg_restore -l")?;
    let text = listing.await.context("the listing task failed")??;
    let stderr = stderr.await.unwrap_or_default();
    if !status.success() || fed > TOC_BUFFER_LIMIT {
        tracing::debug!("cannot list the archive ({status}): {stderr}");
        return Ok(None);
    }
    Ok(Some(text))
}

/// Extensions the list creates.
pub fn extensions(list: &str) -> Vec<String> {
    list.lines()
        .filter_map(|l| match entry(l)? {
            ("EXTENSION", tag) => Some(tag.to_owned()),
            _ => None,
        })
        .collect()
}

/// The list with the extensions in `skip`, and their comments, commented out;
/// also the comments of `uncommentable` extensions (installed already, but
/// owned by another role).
pub fn without(list: &str, skip: &[&str], uncommentable: &[&str]) -> String {
    let mut out = String::with_capacity(list.len());
    for line in list.lines() {
        let drop = match entry(line) {
            Some(("EXTENSION", tag)) => skip.contains(&tag),
            Some(("COMMENT", tag)) => tag
                .strip_prefix("EXTENSION ")
                .is_some_and(|name| skip.contains(&name) || uncommentable.contains(&name)),
            _ => false,
        };
        if drop {
            out.push(';');
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// `2; 3079 16386 EXTENSION - pg_stat_statements ` -> ("EXTENSION",
/// "pg_stat_statements"); `3361; 0 0 COMMENT - EXTENSION pg_stat_statements `
/// -> ("COMMENT", "EXTENSION pg_stat_statements"). Only entries outside any
/// schema (`-`), which is where extensions and their comments are.
fn entry(line: &str) -> Option<(&str, &str)> {
    if line.starts_with(';') {
        return None;
    }
    let (_, rest) = line.split_once("; ")?;
    let mut parts = rest.splitn(4, ' ');
    let (_tableoid, _oid, desc) = (parts.next()?, parts.next()?, parts.next()?);
    let rest = parts.next()?.strip_prefix("- ")?;
    Some((desc, rest.trim_end()))
}

/// What to leave out of a restore into `target`.
#[derive(Debug, Default)]
pub struct ExtensionPlan {
    pub skipped: Vec<SkippedExtension>,
    /// The filtered list, when anything is left out (`pg_restore -L`).
    pub list_file: Option<tempfile::NamedTempFile>,
}

/// Decide, for each extension of `list`, whether the target's role can
/// create it, and write the list without the others.
pub async fn plan(list: &str, target: &ConnInfo) -> Result<ExtensionPlan> {
    let names = extensions(list);
    if names.is_empty() {
        return Ok(ExtensionPlan::default());
    }
    let client = db::connect(target, "k12ctl restore (extensions)").await?;
    let support = admin::extension_support(&client, &names).await?;
    let skipped: Vec<SkippedExtension> = support
        .iter()
        .filter_map(|s| {
            s.cannot_create(&target.user)
                .map(|reason| SkippedExtension {
                    name: s.name.clone(),
                    reason,
                })
        })
        .collect();
    let uncommentable: Vec<&str> = support
        .iter()
        .filter(|s| s.installed && !s.owned && !s.superuser)
        .map(|s| s.name.as_str())
        .collect();
    if skipped.is_empty() && uncommentable.is_empty() {
        return Ok(ExtensionPlan::default());
    }
    let skip: Vec<&str> = skipped.iter().map(|s| s.name.as_str()).collect();
    for s in &skipped {
        tracing::warn!("skipping extension {}: {}", s.name, s.reason);
    }
    let mut file = tempfile::Builder::new()
        .prefix("k12ctl-restore-list-")
        .tempfile()
        .context("cannot create the restore list file")?;
    file.write_all(without(list, &skip, &uncommentable).as_bytes())
        .and_then(|()| file.flush())
        .context("cannot write the restore list file")?;
    Ok(ExtensionPlan {
        skipped,
        list_file: Some(file),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &str = ";\n; Archive created at 2026-12-02 01:11:57 UTC\n;\n\
        2; 3079 16386 EXTENSION - pg_stat_statements \n\
        3361; 0 0 COMMENT - EXTENSION pg_stat_statements \n\
        3; 3079 16390 EXTENSION - pgcrypto \n\
        3362; 0 0 COMMENT - EXTENSION pgcrypto \n\
        217; 1259 16417 TABLE public t postgres\n\
        218; 1259 16418 TABLE public EXTENSION x postgres\n\
        3354; 0 16417 TABLE DATA public t postgres\n";

    #[test]
    fn extensions_are_found_in_the_list() {
        assert_eq!(extensions(LIST), ["pg_stat_statements", "pgcrypto"]);
    }

    #[test]
    fn skipped_extensions_and_their_comments_are_commented_out() {
        let out = without(LIST, &["pg_stat_statements"], &["pgcrypto"]);
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines.contains(&";2; 3079 16386 EXTENSION - pg_stat_statements "));
        assert!(lines.contains(&";3361; 0 0 COMMENT - EXTENSION pg_stat_statements "));
        assert!(lines.contains(&"3; 3079 16390 EXTENSION - pgcrypto "));
        assert!(lines.contains(&";3362; 0 0 COMMENT - EXTENSION pgcrypto "));
        assert!(lines.contains(&"217; 1259 16417 TABLE public t postgres"));
        assert!(lines.contains(&"218; 1259 16418 TABLE public EXTENSION x postgres"));
        assert_eq!(lines.len(), LIST.lines().count());
    }
}
