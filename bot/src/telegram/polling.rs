//! Long polling with a floor under empty answers.
//!
//! teloxide's `Polling` asks again the moment an empty `getUpdates` comes back; a
//! Bot-API-compatible server that answers at once instead of long-polling then gets
//! thousands of requests a second. Its backoff applies to errors only, and an empty success
//! never leaves its stream, so this listener does what it does (offset, backoff on errors,
//! `RetryAfter`, confirming the offset with `timeout=0, limit=1` when stopped) and pauses
//! after empty answers that came much sooner than the long poll asked for.

use futures::Stream;
use std::collections::VecDeque;
use std::pin::Pin;
use std::time::Duration;
use teloxide::payloads::GetUpdatesSetters;
use teloxide::prelude::{Bot, Requester};
use teloxide::stop::{StopFlag, StopToken, mk_stop_token};
use teloxide::types::{AllowedUpdate, Update};
use teloxide::update_listeners::{StatefulListener, UpdateListener};
use teloxide::{RequestError, RequestError as E};
use tokio::time::Instant;

/// The pause after the first empty instant answer; it doubles while they go on, up to the
/// cap, and is gone as soon as an update arrives or a poll is held open.
pub(super) const IDLE_FIRST: Duration = Duration::from_millis(250);
pub(super) const IDLE_MAX: Duration = Duration::from_secs(2);
/// The longest `RetryAfter` obeyed, and the cap of the backoff after errors.
const MAX_WAIT: Duration = Duration::from_secs(60);

type Updates = Pin<Box<dyn Stream<Item = Result<Update, RequestError>> + Send>>;

/// The listener for the dispatcher: long polls of `timeout`, asking for `allowed`.
pub(super) async fn listener(
    bot: Bot,
    timeout: Duration,
    allowed: Vec<AllowedUpdate>,
) -> impl UpdateListener<Err = RequestError> {
    delete_webhook(&bot).await;
    let (token, flag) = mk_stop_token();
    let state = Poller {
        bot,
        timeout,
        allowed,
        offset: 0,
        buffer: VecDeque::new(),
        stop: flag,
        stopped: false,
        pause: Duration::ZERO,
        idle: Duration::ZERO,
        errors: 0,
    };
    let stream: Updates = Box::pin(futures::stream::unfold(state, next));
    StatefulListener::new(
        (stream, token),
        super::first_mut,
        |state: &mut (Updates, StopToken)| state.1.clone(),
    )
}

/// As teloxide's polling does: a webhook left set would make getUpdates fail.
async fn delete_webhook(bot: &Bot) {
    match bot.get_webhook_info().await {
        Ok(info) if info.url.is_some() => {
            if let Err(e) = bot.delete_webhook().await {
                tracing::error!(error = %e, "telegram deleteWebhook failed; polling may not receive updates");
            }
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "telegram getWebhookInfo failed"),
    }
}

struct Poller {
    bot: Bot,
    timeout: Duration,
    allowed: Vec<AllowedUpdate>,
    /// The id after the last update received: sent with each poll, it confirms the rest.
    offset: i32,
    buffer: VecDeque<Update>,
    stop: StopFlag,
    stopped: bool,
    /// Waited before the next poll.
    pause: Duration,
    /// The current pause after empty instant answers (zero when the last answer was not one).
    idle: Duration,
    errors: u32,
}

impl Poller {
    /// After an answer of `count` updates that took `took`: pause before the next poll if
    /// it was empty and instant.
    fn answered(&mut self, count: usize, took: Duration) {
        self.errors = 0;
        let instant = took < (self.timeout / 2).max(IDLE_FIRST);
        self.idle = if count == 0 && instant {
            (self.idle * 2).clamp(IDLE_FIRST, IDLE_MAX)
        } else {
            Duration::ZERO
        };
        self.pause = self.idle;
    }

    fn failed(&mut self, e: &RequestError) {
        self.idle = Duration::ZERO;
        self.pause = match e {
            E::RetryAfter(secs) => {
                self.errors = 0;
                secs.duration().min(MAX_WAIT)
            }
            _ => {
                let pause = Duration::from_millis(500 * 2u64.pow(self.errors.min(7))).min(MAX_WAIT);
                self.errors = self.errors.saturating_add(1);
                pause
            }
        };
    }
}

/// The next update: from the buffer, else from a poll; after the stop flag, the offset is
/// confirmed (what was received was handed out) and the stream ends.
async fn next(mut s: Poller) -> Option<(Result<Update, RequestError>, Poller)> {
    loop {
        if let Some(update) = s.buffer.pop_front() {
            return Some((Ok(update), s));
        }
        if s.stopped {
            return None;
        }
        let timeout = u32::try_from(s.timeout.as_secs()).unwrap_or(u32::MAX);
        let request = s
            .bot
            .get_updates()
            .offset(s.offset)
            .timeout(timeout)
            .allowed_updates(s.allowed.clone());
        let pause = s.pause;
        let poll = async move {
            tokio::time::sleep(pause).await;
            let began = Instant::now();
            let answer = request.await;
            (answer, began.elapsed())
        };
        let answer = tokio::select! {
            biased;
            _ = &mut s.stop => None,
            answer = poll => Some(answer),
        };
        match answer {
            None => {
                s.stopped = true;
                let confirm = s.bot.get_updates().offset(s.offset).limit(1).timeout(0).await;
                return match confirm {
                    Ok(_) => None,
                    Err(e) => Some((Err(e), s)),
                };
            }
            Some((Ok(updates), took)) => {
                s.answered(updates.len(), took);
                if let Some(last) = updates.last() {
                    s.offset = last.id.as_offset();
                }
                s.buffer.extend(updates);
            }
            Some((Err(e), _)) => {
                s.failed(&e);
                return Some((Err(e), s));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn poller(timeout: Duration) -> Poller {
        Poller {
            bot: Bot::new("1:T"),
            timeout,
            allowed: Vec::new(),
            offset: 0,
            buffer: VecDeque::new(),
            stop: mk_stop_token().1,
            stopped: false,
            pause: Duration::ZERO,
            idle: Duration::ZERO,
            errors: 0,
        }
    }

    #[test]
    fn empty_instant_answers_pause_doubling_to_a_cap_and_updates_reset_it() {
        let mut p = poller(Duration::from_secs(30));
        let mut pauses = Vec::new();
        for _ in 0..6 {
            p.answered(0, Duration::from_millis(3));
            pauses.push(p.pause.as_millis());
        }
        assert_eq!(pauses, [250, 500, 1000, 2000, 2000, 2000]);
        p.answered(1, Duration::from_millis(3));
        assert_eq!(p.pause, Duration::ZERO);
        // A poll held open (empty at its timeout) is what long polling should be.
        p.answered(0, Duration::from_millis(3));
        p.answered(0, Duration::from_secs(30));
        assert_eq!(p.pause, Duration::ZERO);
        // With a zero timeout, empty answers are paced too.
        let mut p = poller(Duration::ZERO);
        p.answered(0, Duration::from_millis(3));
        assert_eq!(p.pause, IDLE_FIRST);
    }
}
