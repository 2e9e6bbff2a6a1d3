//! Keeps a long-running adapter task alive: a panic that unwinds out of the whole task
//! (not one message's handler, which `scheduler::guarded` already catches) restarts it.

use crate::shutdown::Shutdown;
use futures::FutureExt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

/// The pause after the first panic; it doubles with each panic in a row, up to the cap.
const FIRST_PAUSE: Duration = Duration::from_secs(1);
const MAX_PAUSE: Duration = Duration::from_secs(60);
/// A run that lasted this long before panicking starts the pauses again from the first.
const STABLE_RUN: Duration = Duration::from_secs(300);

/// Run `make()`'s future; when it panics, log once with `name`, count it in
/// `chainsignal_job_panics_total{job=name}`, wait (capped, doubling), and run a new one,
/// until shutdown. Returns when a run ends without panicking (stopped or switched off).
pub async fn supervise<F>(name: &'static str, shutdown: Shutdown, make: impl FnMut() -> F)
where
    F: Future<Output = ()>,
{
    run(name, shutdown, make, FIRST_PAUSE, MAX_PAUSE).await;
}

/// [`supervise`] with the pauses given; returns how many times the task was restarted.
async fn run<F>(
    name: &'static str,
    shutdown: Shutdown,
    mut make: impl FnMut() -> F,
    first: Duration,
    cap: Duration,
) -> u32
where
    F: Future<Output = ()>,
{
    let mut restarts: u32 = 0;
    let mut in_a_row: u32 = 0;
    loop {
        let began = tokio::time::Instant::now();
        let Err(panic) = AssertUnwindSafe(make()).catch_unwind().await else {
            return restarts;
        };
        if began.elapsed() >= STABLE_RUN {
            in_a_row = 0;
        }
        let pause = first.saturating_mul(1 << in_a_row.min(16)).min(cap);
        in_a_row = in_a_row.saturating_add(1);
        metrics::counter!("chainsignal_job_panics_total", "job" => name).increment(1);
        tracing::error!(
            adapter = name,
            panic = %crate::scheduler::panic_message(panic.as_ref()),
            ?pause,
            "the adapter task panicked; restarting it"
        );
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = shutdown.clone().wait() => return restarts,
        }
        restarts = restarts.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};
    use tokio::sync::watch;

    /// A task that panics twice, then runs until shutdown: started three times (restarted
    /// twice), and the supervisor ends once shutdown is asked for.
    #[tokio::test]
    async fn a_panicking_task_is_restarted_until_shutdown() {
        let (trigger, shutdown) = crate::shutdown::channel();
        let starts = Arc::new(AtomicU32::new(0));
        let (started_tx, mut started_rx) = watch::channel(0u32);
        let task = {
            let (starts, shutdown) = (starts.clone(), shutdown.clone());
            move || {
                let n = starts.fetch_add(1, Ordering::SeqCst) + 1;
                let _ = started_tx.send(n);
                let shutdown = shutdown.clone();
                async move {
                    if n <= 2 {
                        panic!("boom {n}");
                    }
                    shutdown.wait().await;
                }
            }
        };
        let supervisor = tokio::spawn(run(
            "test",
            shutdown,
            task,
            Duration::from_millis(10),
            Duration::from_millis(40),
        ));
        let limit = Duration::from_secs(20);
        tokio::time::timeout(limit, started_rx.wait_for(|n| *n >= 3))
            .await
            .expect("started a third time")
            .unwrap();
        trigger.trigger();
        let restarts = tokio::time::timeout(limit, supervisor)
            .await
            .expect("the supervisor ends on shutdown")
            .unwrap();
        assert_eq!(restarts, 2);
        assert_eq!(starts.load(Ordering::SeqCst), 3);
    }

    /// A shutdown during the pause after a panic ends the supervisor without a restart.
    #[tokio::test]
    async fn shutdown_during_the_pause_stops_restarting() {
        let (trigger, shutdown) = crate::shutdown::channel();
        trigger.trigger();
        let restarts = tokio::time::timeout(
            Duration::from_secs(20),
            run("test", shutdown, always_panics, MAX_PAUSE, MAX_PAUSE),
        )
        .await
        .expect("no pause is waited out after shutdown");
        assert_eq!(restarts, 0);
    }

    async fn always_panics() {
        panic!("always")
    }
}
