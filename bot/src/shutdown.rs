//! One shutdown signal for every task: SIGINT, SIGTERM or SIGHUP, or a test saying so.

use tokio::sync::watch;

#[derive(Debug, Clone)]
pub struct Shutdown(watch::Receiver<bool>);

#[derive(Debug)]
pub struct ShutdownTrigger(watch::Sender<bool>);

pub fn channel() -> (ShutdownTrigger, Shutdown) {
    let (tx, rx) = watch::channel(false);
    (ShutdownTrigger(tx), Shutdown(rx))
}

impl ShutdownTrigger {
    pub fn trigger(&self) {
        let _ = self.0.send(true);
    }
}

impl Shutdown {
    /// Resolves once shutdown has been asked for (or the trigger is gone).
    pub async fn wait(mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}

/// The exit code of a process ended by a second signal or stopped before it finished
/// its one-shot work (128 + SIGINT, as shells report Ctrl-C).
pub const INTERRUPTED: u8 = 130;

/// Listen to the OS for the life of the process. The first SIGINT (Ctrl-C), SIGTERM or
/// SIGHUP asks for a graceful stop through `trigger` (SIGHUP is not a reload: the
/// terminal or the supervisor went away, so the process stops as on SIGTERM). A second
/// SIGINT, SIGTERM or SIGHUP ends the process at once with [`INTERRUPTED`].
pub fn listen(trigger: ShutdownTrigger) {
    let mut signals = Signals::new();
    tokio::spawn(async move {
        let name = signals.next().await;
        tracing::info!("{name} received");
        trigger.trigger();
        let name = signals.next().await;
        tracing::warn!("{name} received again: exiting now");
        std::process::exit(i32::from(INTERRUPTED));
    });
}

/// The signals that stop the process, registered once (so that none is missed between
/// the first and the second).
struct Signals {
    #[cfg(unix)]
    int: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    hup: Option<tokio::signal::unix::Signal>,
}

#[cfg(unix)]
fn register(kind: tokio::signal::unix::SignalKind, name: &str) -> Option<tokio::signal::unix::Signal> {
    tokio::signal::unix::signal(kind)
        .inspect_err(|e| tracing::error!(error = %e, "cannot listen for {name}"))
        .ok()
}

#[cfg(unix)]
async fn recv(signal: &mut Option<tokio::signal::unix::Signal>) {
    match signal {
        Some(s) => {
            s.recv().await;
        }
        None => std::future::pending().await,
    }
}

impl Signals {
    fn new() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::SignalKind;
            Self {
                int: register(SignalKind::interrupt(), "SIGINT"),
                term: register(SignalKind::terminate(), "SIGTERM"),
                hup: register(SignalKind::hangup(), "SIGHUP"),
            }
        }
        #[cfg(not(unix))]
        Self {}
    }

    /// The name of the next signal.
    async fn next(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = recv(&mut self.int) => "SIGINT",
                _ = recv(&mut self.term) => "SIGTERM",
                _ = recv(&mut self.hup) => "SIGHUP",
            }
        }
        #[cfg(not(unix))]
        {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
            "SIGINT"
        }
    }
}
