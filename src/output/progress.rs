//! Progress of a long transfer. On a terminal: two live lines (read and
//! written, with rates). Off a terminal (cron, systemd, CI): one log line
//! every 10 seconds, so a journal shows that a run is alive and how fast.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::tables::bytes;
use crate::pipeline::ProgressSink;

const LOG_EVERY: Duration = Duration::from_secs(10);

pub struct Progress {
    labels: (&'static str, &'static str),
    read: AtomicU64,
    written: AtomicU64,
    started: Instant,
    mode: Mode,
}

enum Mode {
    Bars {
        _multi: MultiProgress,
        read: ProgressBar,
        written: ProgressBar,
    },
    Log {
        last: Mutex<Instant>,
    },
    Silent,
}

impl Progress {
    /// `labels` name the two counters, e.g. ("dumped", "uploaded").
    /// `bars` when stderr is a terminal and progress is wanted; `log` for
    /// the periodic lines; neither when quiet.
    pub fn new(labels: (&'static str, &'static str), bars: bool, log: bool) -> Self {
        let mode = if bars {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{spinner} {prefix:>9}: {bytes:>11} {binary_bytes_per_sec:>13}  {elapsed} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
            let bar = |label: &str| {
                let b = multi.add(ProgressBar::new_spinner());
                b.set_style(style.clone());
                b.set_prefix(label.to_owned());
                b.enable_steady_tick(Duration::from_millis(200));
                b
            };
            Mode::Bars {
                read: bar(labels.0),
                written: bar(labels.1),
                _multi: multi,
            }
        } else if log {
            Mode::Log {
                last: Mutex::new(Instant::now()),
            }
        } else {
            Mode::Silent
        };
        Self {
            labels,
            read: AtomicU64::new(0),
            written: AtomicU64::new(0),
            started: Instant::now(),
            mode,
        }
    }

    fn maybe_log(&self) {
        let Mode::Log { last } = &self.mode else {
            return;
        };
        let Ok(mut last) = last.lock() else { return };
        if last.elapsed() < LOG_EVERY {
            return;
        }
        *last = Instant::now();
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        let read = self.read.load(Ordering::Relaxed);
        let written = self.written.load(Ordering::Relaxed);
        tracing::info!(
            "{} {} ({}/s), {} {} ({}/s)",
            self.labels.0,
            bytes(read),
            bytes((read as f64 / secs) as u64),
            self.labels.1,
            bytes(written),
            bytes((written as f64 / secs) as u64),
        );
    }
}

impl ProgressSink for Progress {
    fn read(&self, n: u64) {
        self.read.fetch_add(n, Ordering::Relaxed);
        if let Mode::Bars { read, .. } = &self.mode {
            read.inc(n);
        }
        self.maybe_log();
    }

    fn written(&self, n: u64) {
        self.written.fetch_add(n, Ordering::Relaxed);
        if let Mode::Bars { written, .. } = &self.mode {
            written.inc(n);
        }
        self.maybe_log();
    }

    fn phase(&self, name: &str) {
        match &self.mode {
            Mode::Bars { read, .. } => read.set_message(name.to_owned()),
            Mode::Log { .. } => tracing::info!("{name}"),
            Mode::Silent => {}
        }
    }

    fn finish(&self) {
        if let Mode::Bars { read, written, .. } = &self.mode {
            read.finish_and_clear();
            written.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}
