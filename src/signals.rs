//! SIGINT and SIGTERM. The first signal is delivered to whoever waits on
//! `Interrupt::wait` (pipelines stop, abort uploads, drop scratch databases
//! and record the failure); a second one exits at once.

use tokio::sync::watch;

use crate::exit::{ExitCode, Interrupted};

#[derive(Clone)]
pub struct Interrupt {
    rx: watch::Receiver<Option<Interrupted>>,
}

impl Interrupt {
    /// Install the handlers. Must be called inside the runtime.
    pub fn install() -> std::io::Result<Self> {
        use tokio::signal::unix::{signal, SignalKind};
        let mut sigint = signal(SignalKind::interrupt())?;
        let mut sigterm = signal(SignalKind::terminate())?;
        let (tx, rx) = watch::channel(None);
        tokio::spawn(async move {
            loop {
                let which = tokio::select! {
                    _ = sigint.recv() => Interrupted::Sigint,
                    _ = sigterm.recv() => Interrupted::Sigterm,
                };
                if tx.borrow().is_some() {
                    eprintln!("error: {which} again, exiting without cleanup");
                    let code = match which {
                        Interrupted::Sigint => ExitCode::Interrupted,
                        Interrupted::Sigterm => ExitCode::Terminated,
                    };
                    std::process::exit(code.as_i32());
                }
                tracing::warn!("{which}: stopping and cleaning up (send it again to exit at once)");
                let _ = tx.send(Some(which));
            }
        });
        Ok(Self { rx })
    }

    /// Resolves when a signal arrives.
    pub async fn wait(&self) -> Interrupted {
        let mut rx = self.rx.clone();
        loop {
            if let Some(which) = *rx.borrow_and_update() {
                return which;
            }
            if rx.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}
