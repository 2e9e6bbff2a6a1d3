//! `chainsignal run` as a child process for the multi-instance tests: started with a
//! cleared environment plus the given variables, its stderr read all along (a pipe
//! nobody reads would block it) into a log the test waits on.

use crate::chainsignal_bin;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::watch;

/// One running `chainsignal run`.
pub struct Instance {
    pub child: tokio::process::Child,
    /// Its stderr so far.
    pub log: Arc<Mutex<String>>,
}

impl Instance {
    pub fn log(&self) -> String {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Start `chainsignal run` in `dir` with only `env` set; every stderr line bumps
/// `changed`, which [`wait_logs`] waits on.
pub fn spawn_run(dir: &std::path::Path, env: &[(&str, String)], changed: &watch::Sender<u64>) -> Instance {
    let mut child = tokio::process::Command::new(chainsignal_bin())
        .arg("run")
        .current_dir(dir)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("chainsignal run starts");
    let log = Arc::new(Mutex::new(String::new()));
    let stderr = child.stderr.take().expect("stderr is piped");
    let mut lines = BufReader::new(stderr).lines();
    let (sink, changed) = (log.clone(), changed.clone());
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            let mut log = sink.lock().unwrap_or_else(|e| e.into_inner());
            log.push_str(&line);
            log.push('\n');
            drop(log);
            changed.send_modify(|n| *n += 1);
        }
    });
    Instance { child, log }
}

/// Wait (at most `timeout`) until `pred` holds over the two instances' logs.
pub async fn wait_logs(
    a: &Instance,
    b: &Instance,
    changed: &watch::Sender<u64>,
    timeout: Duration,
    pred: impl Fn(&str, &str) -> bool,
) {
    let mut rx = changed.subscribe();
    tokio::time::timeout(timeout, async {
        loop {
            if pred(&a.log(), &b.log()) {
                return;
            }
            if rx.changed().await.is_err() {
                return;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("logs never matched:\nA:\n{}\nB:\n{}", a.log(), b.log()));
}
