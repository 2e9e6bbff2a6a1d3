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

/// The longest wait a server may impose on us (`Retry-After`, `retry_after`): anything
/// longer is capped to this.
pub const MAX_SERVER_WAIT: Duration = Duration::from_secs(600);

/// A wait a server asked for, in seconds, as a [`Duration`] that is safe to add to an
/// instant or sleep on: capped at [`MAX_SERVER_WAIT`]; NaN, infinite or negative values
/// become `default` (itself capped).
pub fn server_wait_secs(secs: f64, default: Duration) -> Duration {
    if !secs.is_finite() || secs < 0.0 {
        return default.min(MAX_SERVER_WAIT);
    }
    if secs >= MAX_SERVER_WAIT.as_secs_f64() {
        return MAX_SERVER_WAIT;
    }
    Duration::try_from_secs_f64(secs)
        .unwrap_or(default)
        .min(MAX_SERVER_WAIT)
}

/// [`server_wait_secs`] of a header value such as `Retry-After: 1.5`; text that is not a
/// number (an HTTP date included) becomes `default`.
pub fn server_wait(value: &str, default: Duration) -> Duration {
    match value.trim().parse::<f64>() {
        Ok(secs) => server_wait_secs(secs, default),
        Err(_) => default.min(MAX_SERVER_WAIT),
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

    #[test]
    fn server_waits_are_capped_and_garbage_is_defaulted() {
        let d = Duration::from_secs(1);
        assert_eq!(server_wait("2", d), Duration::from_secs(2));
        assert_eq!(server_wait(" 0.25 ", d), Duration::from_millis(250));
        assert_eq!(server_wait("0", d), Duration::ZERO);
        assert_eq!(server_wait("1e30", d), MAX_SERVER_WAIT);
        assert_eq!(server_wait("18446744073709551615", d), MAX_SERVER_WAIT);
        assert_eq!(server_wait("601", d), MAX_SERVER_WAIT);
        assert_eq!(MAX_SERVER_WAIT, Duration::from_secs(600));
        for garbage in [
            "NaN",
            "nan",
            "inf",
            "-inf",
            "-1",
            "",
            "soon",
            "Wed, 21 Oct 2015 07:28:00 GMT",
        ] {
            assert_eq!(server_wait(garbage, d), d, "{garbage:?}");
        }
        assert_eq!(server_wait_secs(f64::NAN, d), d);
        assert_eq!(server_wait_secs(f64::INFINITY, d), d);
        assert_eq!(server_wait_secs(-0.5, d), d);
        assert_eq!(server_wait_secs(f64::MAX, d), MAX_SERVER_WAIT);
        assert_eq!(server_wait_secs(1.5, d), Duration::from_millis(1500));
        // A default longer than the cap is capped too.
        assert_eq!(server_wait("x", Duration::from_secs(86_400)), MAX_SERVER_WAIT);
        // Every result can be added to an instant.
        let _ = Instant::now() + server_wait("1e300", d);
    }
}
