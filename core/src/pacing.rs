//! Outbound pacing under the chat platforms' limits (DESIGN.md "Limits"): a sliding
//! window per chat, per group and overall. Every message a bot sends first waits for
//! [`Pacer::acquire`]. Time is tokio's, so tests run it on a paused clock.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// At most `limit` sends in any `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub limit: usize,
    pub window: Duration,
}

impl Rate {
    pub const fn new(limit: usize, window: Duration) -> Self {
        Self { limit, window }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacerLimits {
    pub overall: Rate,
    pub per_chat: Rate,
    /// Applies on top of `per_chat` to groups and channels.
    pub per_group: Rate,
}

impl PacerLimits {
    /// Telegram: about 1 message/s per chat, 20/min per group, 30/s overall.
    pub const TELEGRAM: PacerLimits = PacerLimits {
        overall: Rate::new(30, Duration::from_secs(1)),
        per_chat: Rate::new(1, Duration::from_secs(1)),
        per_group: Rate::new(20, Duration::from_secs(60)),
    };
}

#[derive(Debug, Default)]
struct Windows {
    overall: VecDeque<Instant>,
    chats: HashMap<String, VecDeque<Instant>>,
    groups: HashMap<String, VecDeque<Instant>>,
    acquisitions: u64,
}

#[derive(Debug)]
pub struct Pacer {
    limits: PacerLimits,
    windows: Mutex<Windows>,
}

fn prune(q: &mut VecDeque<Instant>, window: Duration, now: Instant) {
    while q.front().is_some_and(|t| *t + window <= now) {
        q.pop_front();
    }
}

/// The earliest instant a new send fits in `q` under `rate`.
fn next_slot(q: &VecDeque<Instant>, rate: Rate, now: Instant) -> Instant {
    if rate.limit == 0 || q.len() < rate.limit {
        now
    } else {
        q[q.len() - rate.limit] + rate.window
    }
}

impl Pacer {
    pub fn new(limits: PacerLimits) -> Self {
        Self {
            limits,
            windows: Mutex::default(),
        }
    }

    /// Wait until one more message to `chat` fits every limit, and count it.
    pub async fn acquire(&self, chat: &str, group: bool) {
        loop {
            let wait_until = {
                let mut w = self.windows.lock().unwrap_or_else(|e| e.into_inner());
                let now = Instant::now();
                let l = self.limits;
                w.acquisitions += 1;
                if w.acquisitions.is_multiple_of(1024) {
                    // Forget chats that have been quiet for a whole window.
                    w.chats
                        .retain(|_, q| q.back().is_some_and(|t| *t + l.per_chat.window > now));
                    w.groups
                        .retain(|_, q| q.back().is_some_and(|t| *t + l.per_group.window > now));
                }
                let Windows {
                    overall,
                    chats,
                    groups,
                    ..
                } = &mut *w;
                prune(overall, l.overall.window, now);
                let chat_q = chats.entry(chat.to_string()).or_default();
                prune(chat_q, l.per_chat.window, now);
                let mut at = next_slot(overall, l.overall, now).max(next_slot(chat_q, l.per_chat, now));
                let group_q = if group {
                    let q = groups.entry(chat.to_string()).or_default();
                    prune(q, l.per_group.window, now);
                    at = at.max(next_slot(q, l.per_group, now));
                    Some(q)
                } else {
                    None
                };
                if at <= now {
                    overall.push_back(now);
                    chat_q.push_back(now);
                    if let Some(q) = group_q {
                        q.push_back(now);
                    }
                    return;
                }
                at
            };
            tokio::time::sleep_until(wait_until).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn secs(start: Instant) -> f64 {
        (Instant::now() - start).as_secs_f64()
    }

    #[tokio::test(start_paused = true)]
    async fn one_message_a_second_per_chat() {
        let p = Pacer::new(PacerLimits::TELEGRAM);
        let start = Instant::now();
        let mut at = Vec::new();
        for _ in 0..3 {
            p.acquire("42", false).await;
            at.push(secs(start));
        }
        assert_eq!(at, [0.0, 1.0, 2.0]);
        // Another chat is not held back by the first.
        p.acquire("43", false).await;
        assert_eq!(secs(start), 2.0);
    }

    #[tokio::test(start_paused = true)]
    async fn twenty_a_minute_per_group() {
        let p = Pacer::new(PacerLimits::TELEGRAM);
        let start = Instant::now();
        for i in 0..20 {
            p.acquire("-100", true).await;
            assert_eq!(secs(start), i as f64);
        }
        p.acquire("-100", true).await;
        assert_eq!(
            secs(start),
            60.0,
            "the 21st message waits for the first to leave the minute"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn thirty_a_second_overall() {
        let p = Arc::new(Pacer::new(PacerLimits::TELEGRAM));
        let start = Instant::now();
        let tasks: Vec<_> = (0..45)
            .map(|i| {
                let p = p.clone();
                tokio::spawn(async move {
                    p.acquire(&i.to_string(), false).await;
                    secs(start)
                })
            })
            .collect();
        let mut times = Vec::new();
        for t in tasks {
            times.push(t.await.unwrap());
        }
        assert_eq!(times.iter().filter(|t| **t == 0.0).count(), 30);
        assert_eq!(times.iter().filter(|t| **t == 1.0).count(), 15);
    }
}
