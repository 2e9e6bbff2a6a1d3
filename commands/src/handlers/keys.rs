//! `/keys add EXCHANGE [LABEL]` with the API key and secret asked privately: validated
//! (the [`crate::KeyCheck`] seam), sealed by the vault, stored. The secrets travel as
//! `SecretString` and are never logged, echoed, audited or stored in clear.

use crate::invocation::{ChatKind, Platform};
use crate::reply::Visibility;
use crate::{CommandError, Ctx, Handled, Reply};
use chainsignal_core::store::NewExchangeKey;
use chainsignal_core::vault::{Binding, Vault};
use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};

/// Longest label, in characters.
const MAX_LABEL: usize = 32;

pub(crate) async fn run(ctx: &Ctx<'_>) -> Result<Handled, CommandError> {
    let Some(vault) = ctx.services.vault.as_deref() else {
        return Err(CommandError::user("keys-vault-disabled"));
    };
    // Telegram: only where no one else reads along (Discord asks in a modal; the
    // console is private).
    if ctx.chat_ref.platform == Platform::Telegram && ctx.chat_ref.kind != ChatKind::Private {
        return Err(CommandError::user("keys-private-only"));
    }
    match ctx.args.sub {
        Some("add") => add(ctx, vault).await,
        _ => Err(CommandError::user("keys-usage")),
    }
}

async fn add(ctx: &Ctx<'_>, vault: &Vault) -> Result<Handled, CommandError> {
    let exchange = ctx
        .args
        .choice("exchange")
        .ok_or(CommandError::user("keys-usage"))?;
    let (Some(api_key), Some(secret)) = (ctx.args.secret("api_key"), ctx.args.secret("secret")) else {
        // Telegram with a public URL: a one-time link to the web form instead.
        if let Some(link) = super::keys_form::offer(ctx, exchange).await? {
            return Ok(link);
        }
        return Err(CommandError::user("keys-missing-secrets"));
    };
    for (value, option) in [(api_key, "api_key"), (secret, "secret")] {
        let len = value.expose_secret().chars().count();
        let spec = ctx
            .spec
            .subs
            .iter()
            .flat_map(|s| s.options)
            .find(|o| o.name == option);
        let (min, max) = spec.map_or((1, 512), |o| (o.min_len as usize, o.max_len as usize));
        if len < min || len > max || value.expose_secret().chars().any(char::is_whitespace) {
            return Err(CommandError::user("keys-bad-secret"));
        }
    }
    let label = ctx.args.text("label").unwrap_or(exchange).to_string();
    if label.chars().count() > MAX_LABEL
        || !label
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(CommandError::user_with(
            "keys-bad-label",
            vec![("max", MAX_LABEL.to_string())],
        ));
    }
    let Some(user_id) = ctx.user_id else {
        return Err(CommandError::Internal("no account for the asker"));
    };
    if ctx.services.store.exchange_key(user_id, &label).await?.is_some() {
        return Err(CommandError::user_with(
            "keys-label-taken",
            vec![("label", label)],
        ));
    }
    if let Err(reason) = ctx.services.key_check.validate(exchange, api_key, secret).await {
        return Err(CommandError::user(reason));
    }
    let version = vault.current_version();
    let seal = |field: &'static str, value: &SecretString| {
        let binding = Binding {
            account_id: user_id,
            exchange,
            label: &label,
            field,
        };
        vault
            .seal_with(version, &binding, value)
            .map(|s| s.to_text())
            .map_err(|_| CommandError::Internal("sealing a key"))
    };
    let (api_key_nonce, api_key_sealed) = seal("api_key", api_key)?;
    let (secret_nonce, secret_sealed) = seal("secret", secret)?;
    let mask = mask(api_key.expose_secret());
    let stored = ctx
        .services
        .store
        .add_exchange_key(&NewExchangeKey {
            user_id,
            exchange: exchange.to_string(),
            label: label.clone(),
            api_key_mask: mask.clone(),
            api_key_sealed,
            api_key_nonce,
            secret_sealed,
            secret_nonce,
            key_version: i32::try_from(version).map_err(|_| CommandError::Internal("vault version"))?,
            created_at: Utc::now(),
        })
        .await?;
    if stored.is_none() {
        return Err(CommandError::user_with(
            "keys-label-taken",
            vec![("label", label)],
        ));
    }
    let mut reply = Reply::text(ctx.tr(
        "keys-added",
        &[("label", &label), ("exchange", exchange), ("mask", &mask)],
    ));
    reply.visibility = Visibility::Private;
    Ok(reply.into())
}

/// `abcd…wxyz`: the first and last four characters, all that is ever shown of a key.
/// Shorter keys show only their last two.
pub(crate) fn mask(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() < 12 {
        let tail: String = chars[chars.len().saturating_sub(2)..].iter().collect();
        return format!("…{tail}");
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn masks_show_only_the_ends() {
        assert_eq!(super::mask("abcdEFGHIJKLwxyz"), "abcd…wxyz");
        assert_eq!(super::mask("short"), "…rt");
        assert_eq!(super::mask("ąęćżźńółśĄĘĆŻ"), "ąęćż…ĄĘĆŻ");
    }
}
