//! The bot's one-time HTTPS form for `/keys add` on Telegram: what the HTTP routes
//! (`GET`/`POST /keys/form/TOKEN`, in the bot crate) show and do. The link was made by
//! the `/keys add` handler (`handlers/keys_form.rs`); here it is looked up by the hash of
//! its token, its CSRF value compared in constant time, taken once, atomically, and the
//! submission run as an ordinary [`Invocation`] of `/keys add` for the identity and the
//! private chat the link was made for (so it is validated, sealed, stored and audited
//! like any other), its answer told in that chat too.
//!
//! Nothing here logs, returns or stores the token or a submitted secret; unknown,
//! expired and used links all get the same page, without detail.

use crate::invocation::{ChatKind, ChatRef, Invocation, Platform, UserRef};
use crate::private::{self, FormField};
use crate::reply::Tone;
use crate::{Commands, Locale, registry};
use chainsignal_core::store::{KeyFormRecord, key_form_hash};
use chrono::Utc;
use secrecy::SecretString;

/// Length of a form token: 32 random bytes as hex.
pub const TOKEN_LEN: usize = 64;
/// The fields a submission may carry besides `csrf`.
const FIELDS: [&str; 3] = ["api_key", "secret", "label"];

/// The form to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebForm {
    pub locale: Locale,
    pub title: String,
    /// What the page says above the fields (the exchange, one use, the time left).
    pub intro: String,
    pub fields: Vec<FormField>,
    /// The label given with the command, pre-filled.
    pub label: Option<String>,
    /// The hidden CSRF value to send back.
    pub csrf: String,
    pub submit: String,
}

/// What a page other than the form says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageKind {
    /// Unknown, expired or used link (404).
    Gone,
    /// The form's CSRF value is missing or wrong (403); the link still works.
    Forbidden,
    /// The body is not the form's (400).
    BadRequest,
    /// The submission ran; the key is stored (200).
    Done,
    /// The submission ran and `/keys add` refused it (422): the link is used up.
    Refused,
    /// Storage trouble on our side (503).
    Unavailable,
}

/// The answer of a form route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebFormPage {
    Form(WebForm),
    Message {
        kind: PageKind,
        locale: Locale,
        title: String,
        text: String,
    },
}

/// Whether `token` has the shape of a form token (no lookup for anything else).
fn well_formed(token: &str) -> bool {
    token.len() == TOKEN_LEN && token.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A short, safe name of a token for the log: a prefix of its hash.
fn log_name(hash: &str) -> &str {
    hash.get(..8).unwrap_or("")
}

/// Constant-time equality of the CSRF values.
fn csrf_matches(given: Option<&str>, expected: &str) -> bool {
    use subtle::ConstantTimeEq;
    given.is_some_and(|g| bool::from(g.as_bytes().ct_eq(expected.as_bytes())))
}

impl Commands {
    fn page(&self, kind: PageKind, locale: Locale, text: String) -> WebFormPage {
        WebFormPage::Message {
            kind,
            locale,
            title: self.services.i18n.t(locale, "keys-form-title"),
            text,
        }
    }

    fn gone(&self) -> WebFormPage {
        let locale = self.services.default_locale;
        self.page(
            PageKind::Gone,
            locale,
            self.services.i18n.t(locale, "keys-form-gone"),
        )
    }

    fn unavailable(&self, locale: Locale) -> WebFormPage {
        self.page(
            PageKind::Unavailable,
            locale,
            self.services.i18n.t(locale, "error-internal"),
        )
    }

    /// The live (known, unused, unexpired) form of `token`; `Err` on storage trouble.
    async fn live_form(&self, token: &str) -> Result<Option<(String, KeyFormRecord)>, ()> {
        if !well_formed(token) {
            return Ok(None);
        }
        let hash = key_form_hash(token);
        match self.services.store.key_form(&hash).await {
            Ok(Some(row)) if row.used_at.is_none() && row.expires_at > Utc::now() => Ok(Some((hash, row))),
            Ok(_) => Ok(None),
            Err(e) => {
                tracing::error!(form = log_name(&hash), error = %e, "key form unavailable");
                Err(())
            }
        }
    }

    fn locale_of(&self, row: &KeyFormRecord) -> Locale {
        Locale::from_tag(&row.locale).unwrap_or(self.services.default_locale)
    }

    /// `GET /keys/form/TOKEN`: the form, in the chat's language, or a page without detail.
    pub async fn web_form(&self, token: &str) -> WebFormPage {
        let (_, row) = match self.live_form(token).await {
            Ok(Some(found)) => found,
            Ok(None) => return self.gone(),
            Err(()) => return self.unavailable(self.services.default_locale),
        };
        let locale = self.locale_of(&row);
        let i18n = &self.services.i18n;
        let options = registry::find("keys")
            .and_then(|spec| spec.subs.iter().find(|s| s.name == "add"))
            .map(|sub| sub.options)
            .unwrap_or_default();
        let fields = options
            .iter()
            .filter(|o| FIELDS.contains(&o.name))
            .map(|o| FormField {
                name: o.name,
                label: i18n.t(locale, o.description_key),
                required: o.secret || o.required,
                secret: o.secret,
                min_len: o.min_len,
                max_len: o.max_len,
                multiline: false,
            })
            .collect();
        let minutes = (row.expires_at - Utc::now()).num_minutes().max(1).to_string();
        WebFormPage::Form(WebForm {
            locale,
            title: i18n.t(locale, "keys-form-title"),
            intro: i18n.tr(
                locale,
                "keys-form-intro",
                &[("exchange", &row.exchange), ("minutes", &minutes)],
            ),
            fields,
            label: row.label.clone(),
            csrf: row.csrf.clone(),
            submit: i18n.t(locale, "keys-form-submit"),
        })
    }

    /// `POST /keys/form/TOKEN`: check the CSRF value, take the link (once, atomically),
    /// run `/keys add` with the submitted fields for the link's identity and chat, tell
    /// that chat the answer, and say it on the page. `fields`: the form's fields as
    /// submitted (others are ignored), `csrf` its hidden value.
    pub async fn submit_web_form(
        &self,
        token: &str,
        csrf: Option<&str>,
        fields: Vec<(String, SecretString)>,
    ) -> WebFormPage {
        let (hash, row) = match self.live_form(token).await {
            Ok(Some(found)) => found,
            Ok(None) => return self.gone(),
            Err(()) => return self.unavailable(self.services.default_locale),
        };
        let locale = self.locale_of(&row);
        let i18n = &self.services.i18n;
        if !csrf_matches(csrf, &row.csrf) {
            tracing::info!(
                form = log_name(&hash),
                "key form refused: wrong or missing CSRF value"
            );
            return self.page(PageKind::Forbidden, locale, i18n.t(locale, "keys-form-csrf"));
        }
        let platform = match row.platform.as_str() {
            "telegram" => Platform::Telegram,
            "discord" => Platform::Discord,
            "console" => Platform::Console,
            _ => return self.gone(),
        };
        // Bound to the account: the identity must still belong to the link's account
        // (not unlinked since), or nothing is stored.
        match self
            .services
            .store
            .account_by_identity(&row.platform, &row.platform_user_id)
            .await
        {
            Ok(Some(account)) if account.id == row.user_id => {}
            Ok(_) => {
                tracing::info!(
                    form = log_name(&hash),
                    "key form refused: the identity changed accounts"
                );
                return self.gone();
            }
            Err(e) => {
                tracing::error!(form = log_name(&hash), error = %e, "account unavailable");
                return self.unavailable(locale);
            }
        }
        let fields: Vec<(String, SecretString)> = fields
            .into_iter()
            .filter(|(name, _)| FIELDS.contains(&name.as_str()))
            .collect();
        let form_id = private::form_id("keys", Some("add"), &[("exchange".into(), row.exchange.clone())]);
        let Some((command, input)) = private::submission(&form_id, fields) else {
            return self.page(PageKind::BadRequest, locale, i18n.t(locale, "keys-form-bad"));
        };
        let claimed = match self.services.store.claim_key_form(&hash, Utc::now()).await {
            Ok(Some(row)) => row,
            // Another submission (on any instance) took it in between, or it just expired.
            Ok(None) => return self.gone(),
            Err(e) => {
                tracing::error!(form = log_name(&hash), error = %e, "key form could not be taken");
                return self.unavailable(locale);
            }
        };
        let invocation = Invocation {
            // Derived from the token (its hash, never the token): one run per link.
            request_id: format!("kf:{}", hash.get(..32).unwrap_or(&hash)),
            user: UserRef {
                platform,
                id: claimed.platform_user_id.clone(),
                display_name: None,
                username: None,
            },
            chat: ChatRef {
                platform,
                id: claimed.platform_chat_id.clone(),
                kind: ChatKind::Private,
            },
            locale: Some(locale),
            chat_admin: true,
            command,
            input,
            reply_to: None,
        };
        let reply = self.run(&invocation).await;
        let refused = reply.tone == Tone::Error;
        tracing::info!(
            form = log_name(&hash),
            account = claimed.user_id,
            refused,
            "key form submitted"
        );
        match self.services.messengers.get(&claimed.platform) {
            Some(messenger) => {
                if messenger.send(&claimed.platform_chat_id, &reply).await.is_none() {
                    tracing::warn!(
                        form = log_name(&hash),
                        "the key form's answer could not reach the chat"
                    );
                }
            }
            None => tracing::warn!(
                form = log_name(&hash),
                "no messenger to tell the chat the key form's answer"
            ),
        }
        let mut text = reply.to_plain_text();
        text.push_str("\n\n");
        if refused {
            text.push_str(&i18n.tr(locale, "keys-form-again", &[("exchange", &claimed.exchange)]));
        } else {
            text.push_str(&i18n.t(locale, "keys-form-done"));
        }
        let kind = if refused {
            PageKind::Refused
        } else {
            PageKind::Done
        };
        self.page(kind, locale, text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hex_tokens_of_the_right_length_are_looked_up() {
        assert!(well_formed(&"a1".repeat(32)));
        assert!(!well_formed(&"a1".repeat(31)));
        assert!(!well_formed(&"A1".repeat(32)));
        assert!(!well_formed(&"ą".repeat(32)));
    }

    #[test]
    fn csrf_values_must_match_exactly() {
        assert!(csrf_matches(Some("abc"), "abc"));
        assert!(!csrf_matches(Some("abd"), "abc"));
        assert!(!csrf_matches(Some("ab"), "abc"));
        assert!(!csrf_matches(None, "abc"));
    }
}
