//! What `/admin status` reports about the running process: when it started, which
//! adapters are connected, the last errors (kind and time only). One [`Status`] per
//! process, shared by the adapters (which set their connection), the command pipeline
//! and the scheduler (which record errors).

use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

/// How many errors are kept (the newest).
pub const ERRORS_KEPT: usize = 5;

/// One error as `/admin status` shows it: a stable kind (never a message, which could
/// carry user input or a secret) and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorMark {
    pub kind: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug)]
pub struct Status {
    started: DateTime<Utc>,
    adapters: Mutex<BTreeMap<String, bool>>,
    errors: Mutex<VecDeque<ErrorMark>>,
}

impl Default for Status {
    fn default() -> Self {
        Self::new()
    }
}

impl Status {
    pub fn new() -> Self {
        Self {
            started: Utc::now(),
            adapters: Mutex::default(),
            errors: Mutex::default(),
        }
    }

    pub fn started(&self) -> DateTime<Utc> {
        self.started
    }

    /// An adapter (`telegram`, `discord`, `console`) is connected, or not any more.
    pub fn set_adapter(&self, name: &str, connected: bool) {
        if let Ok(mut a) = self.adapters.lock() {
            a.insert(name.to_string(), connected);
        }
    }

    /// The adapters this process runs, by name, with whether each is connected.
    pub fn adapters(&self) -> Vec<(String, bool)> {
        self.adapters
            .lock()
            .map(|a| a.iter().map(|(k, v)| (k.clone(), *v)).collect())
            .unwrap_or_default()
    }

    /// Record an error of `kind` now (only [`ERRORS_KEPT`] are kept). `kind` is a short
    /// code (`internal`, `scheduler:send`), truncated to 40 characters.
    pub fn record_error(&self, kind: &str) {
        self.record_error_at(kind, Utc::now());
    }

    pub fn record_error_at(&self, kind: &str, at: DateTime<Utc>) {
        if let Ok(mut e) = self.errors.lock() {
            if e.len() == ERRORS_KEPT {
                e.pop_front();
            }
            e.push_back(ErrorMark {
                kind: kind.chars().take(40).collect(),
                at,
            });
        }
    }

    /// The last errors, newest first.
    pub fn errors(&self) -> Vec<ErrorMark> {
        self.errors
            .lock()
            .map(|e| e.iter().rev().cloned().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_five_errors_newest_first() {
        let s = Status::new();
        for i in 0..7 {
            s.record_error(&format!("kind{i}"));
        }
        let kinds: Vec<String> = s.errors().into_iter().map(|e| e.kind).collect();
        assert_eq!(kinds, ["kind6", "kind5", "kind4", "kind3", "kind2"]);
        s.set_adapter("telegram", true);
        s.set_adapter("discord", false);
        assert_eq!(
            s.adapters(),
            [("discord".to_string(), false), ("telegram".to_string(), true)]
        );
    }
}
