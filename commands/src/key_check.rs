//! Validation of an exchange API key before `/keys add` stores it and when `/keys test`
//! re-checks it: a signed account read on the key's exchange ([`SpotClient::validate_key`]),
//! and on live Binance the key's restrictions (withdrawals off, an IP list). Every
//! refusal is one localized sentence ([`problem_key`]); nothing is stored when refused.
//!
//! Live keys: they may be stored (whatever trading on live allows) only once validated
//! with the live restrictions, so a stored live key can never withdraw and only works
//! from the whitelisted addresses.

use crate::KeyCheck;
use chainsignal_core::exchange::{ApiKey, ExchangeError, KeyProblem, SpotClient, SpotSettings, Venue};
use secrecy::SecretString;
use std::time::Duration;

/// How far this server's clock may be from the exchange's. The client corrects a larger
/// offset by itself (from `GET /api/v3/time`), but a server minutes off is misconfigured
/// (NTP is off): keys are refused until it is fixed, with a sentence saying so.
pub const MAX_CLOCK_OFFSET: Duration = Duration::from_secs(60);

/// The real check: one spot client per venue (sharing its clock offset across keys),
/// built on first use: a bot nobody gives a key to holds no HTTP client for it.
#[derive(Debug)]
pub struct SpotKeyCheck {
    testnet: Venued,
    live: Venued,
}

#[derive(Debug)]
struct Venued {
    settings: SpotSettings,
    client: std::sync::OnceLock<SpotClient>,
}

impl Venued {
    fn new(settings: SpotSettings) -> Self {
        Self {
            settings,
            client: std::sync::OnceLock::new(),
        }
    }

    fn client(&self) -> Result<SpotClient, ExchangeError> {
        if let Some(c) = self.client.get() {
            return Ok(c.clone());
        }
        let built = SpotClient::new(self.settings.clone())?;
        // Two first uses at once: both get the one that was kept.
        Ok(self.client.get_or_init(|| built).clone())
    }
}

impl SpotKeyCheck {
    pub fn new(testnet: SpotSettings, live: SpotSettings) -> Self {
        Self {
            testnet: Venued::new(testnet),
            live: Venued::new(live),
        }
    }

    fn client(&self, exchange: &str) -> Option<Result<SpotClient, ExchangeError>> {
        match Venue::parse(exchange)? {
            Venue::Testnet => Some(self.testnet.client()),
            Venue::Live => Some(self.live.client()),
        }
    }
}

#[async_trait::async_trait]
impl KeyCheck for SpotKeyCheck {
    async fn validate(
        &self,
        exchange: &str,
        api_key: &SecretString,
        secret: &SecretString,
    ) -> Result<(), &'static str> {
        let client = match self.client(exchange) {
            None => return Err("keys-usage"),
            Some(Ok(client)) => client,
            Some(Err(e)) => {
                tracing::error!(exchange, error = %e, "no HTTP client for the exchange");
                return Err("keys-exchange-down");
            }
        };
        let key = ApiKey::new(api_key.clone(), secret.clone());
        match client.validate_key(&key).await {
            Ok(_) => {}
            Err(problem) => {
                tracing::info!(exchange, problem = %problem, "an exchange key was refused");
                return Err(problem_key(&problem));
            }
        }
        if client.clock_offset().is_some_and(|o| o > MAX_CLOCK_OFFSET) {
            tracing::warn!(
                exchange,
                offset_secs = client.clock_offset().map(|o| o.as_secs()),
                "this server's clock is far from the exchange's; keys are refused until it is synced"
            );
            return Err(problem_key(&KeyProblem::ClockSkew));
        }
        Ok(())
    }
}

/// The Fluent key of the sentence for a refused key.
pub fn problem_key(problem: &KeyProblem) -> &'static str {
    match problem {
        // Binance answers -2015 both for an unknown key and for a server address not on
        // the key's list: the sentence names both.
        KeyProblem::InvalidKey => "keys-invalid-key",
        KeyProblem::BadSignature => "keys-bad-signature",
        KeyProblem::IpNotAllowed => "keys-ip-not-allowed",
        KeyProblem::ClockSkew => "keys-clock-skew",
        KeyProblem::WithdrawalsEnabled => "keys-withdrawals-enabled",
        KeyProblem::NoIpRestriction => "keys-no-ip-restriction",
        KeyProblem::ExchangeDown => "keys-exchange-down",
        KeyProblem::RateLimited { .. } => "keys-rate-limited",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_has_its_own_sentence_in_both_languages() {
        let i18n = crate::I18n::new();
        let problems = [
            KeyProblem::InvalidKey,
            KeyProblem::BadSignature,
            KeyProblem::IpNotAllowed,
            KeyProblem::ClockSkew,
            KeyProblem::WithdrawalsEnabled,
            KeyProblem::NoIpRestriction,
            KeyProblem::ExchangeDown,
            KeyProblem::RateLimited {
                retry_after: Duration::from_secs(3),
            },
        ];
        let keys: std::collections::BTreeSet<_> = problems.iter().map(problem_key).collect();
        assert_eq!(keys.len(), problems.len(), "one sentence each");
        for key in keys {
            for locale in [crate::Locale::En, crate::Locale::Pl] {
                let text = i18n.t(locale, key);
                assert!(!text.is_empty() && text != key, "{key} in {locale:?}: {text}");
            }
        }
        let invalid = i18n.t(crate::Locale::En, problem_key(&KeyProblem::InvalidKey));
        assert!(invalid.contains("invalid key, or this server's IP"), "{invalid}");
    }
}
