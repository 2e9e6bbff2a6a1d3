//! `/keys add EXCHANGE [LABEL]` with the API key and secret asked privately: validated
//! (the [`crate::KeyCheck`] seam), sealed by the vault, stored. The secrets travel as
//! `SecretString` and are never logged, echoed, audited or stored in clear.
//! `/keys list` shows the keys (masked, with their age; old ones flagged), `/keys remove
//! LABEL` forgets one after a Confirm, `/keys test [LABEL]` opens and re-validates one
//! (or each). Every answer is private.

use crate::invocation::{ChatKind, Platform};
use crate::reply::Visibility;
use crate::{Block, CONFIRM_TTL, CommandError, Ctx, Handled, Phase, Reply};
use chainsignal_core::store::{ExchangeKeyRecord, NewExchangeKey};
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
    let result = match ctx.args.sub {
        Some("add") => add(ctx, vault).await,
        Some("list") | None => list(ctx).await,
        Some("remove") => remove(ctx).await,
        Some("test") => test(ctx, vault).await,
        _ => Err(CommandError::user("keys-usage")),
    };
    result.map(|mut handled| {
        handled.reply.visibility = Visibility::Private;
        handled
    })
}

/// `live` or `testnet`, in the asker's language.
fn venue(ctx: &Ctx<'_>, exchange: &str) -> String {
    ctx.t(if exchange == "binance" {
        "keys-venue-live"
    } else {
        "keys-venue-testnet"
    })
}

async fn list(ctx: &Ctx<'_>) -> Result<Handled, CommandError> {
    let keys = ctx.services.store.exchange_keys(ctx.account()?).await?;
    if keys.is_empty() {
        return Ok(Reply::text(ctx.t("keys-none")).into());
    }
    let now = Utc::now();
    let max = i64::from(ctx.services.key_max_age_days);
    let never = ctx.t("keys-never-used");
    let lines = keys
        .iter()
        .map(|k| {
            let age = (now - k.created_at).num_days().max(0);
            let used = k
                .last_used_at
                .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_else(|| never.clone());
            let mut line = ctx.tr(
                "keys-list-line",
                &[
                    ("label", &k.label),
                    ("exchange", &k.exchange),
                    ("venue", &venue(ctx, &k.exchange)),
                    ("mask", &k.api_key_mask),
                    ("added", &k.created_at.format("%Y-%m-%d").to_string()),
                    ("used", &used),
                    ("age", &age.to_string()),
                ],
            );
            if age >= max {
                line.push(' ');
                line.push_str(&ctx.tr("keys-list-old", &[("max", &max.to_string())]));
            }
            line
        })
        .collect();
    Ok(Reply::default()
        .block(Block::Title(ctx.t("keys-list-title")))
        .block(Block::List(lines))
        .into())
}

async fn remove(ctx: &Ctx<'_>) -> Result<Handled, CommandError> {
    let user_id = ctx.account()?;
    let label = ctx.args.text("label").unwrap_or_default().to_string();
    let Some(key) = ctx.services.store.exchange_key(user_id, &label).await? else {
        return Err(CommandError::user_with("keys-unknown", vec![("label", label)]));
    };
    // Positions opened with this key are closed with it (and their SL/TP watched with
    // it): the key stays while any is open.
    let using = ctx
        .services
        .store
        .open_positions(user_id, None)
        .await?
        .iter()
        .filter(|p| p.key_id == Some(key.id))
        .count();
    if using > 0 {
        return Err(CommandError::user_with(
            "keys-remove-in-use",
            vec![("label", key.label.clone()), ("count", using.to_string())],
        ));
    }
    if ctx.phase == Phase::Run {
        let mut reply = Reply::text(ctx.tr(
            "keys-remove-confirm",
            &[
                ("label", &key.label),
                ("exchange", &key.exchange),
                ("mask", &key.api_key_mask),
            ],
        ));
        reply.buttons = ctx.confirm_buttons(&ctx.args, CONFIRM_TTL).await?;
        return Ok(reply.into());
    }
    if !ctx
        .services
        .store
        .remove_exchange_key(user_id, &key.label)
        .await?
    {
        return Err(CommandError::user_with("keys-unknown", vec![("label", label)]));
    }
    Ok(Reply::text(ctx.tr("keys-removed", &[("label", &key.label)])).into())
}

/// Open the key (or each) and check it with its exchange again; a key that opens and
/// passes is marked used. A key that does not open (changed in the database, moved to
/// another account, sealed by a vault key no longer configured) gets its own sentence;
/// the others are tested all the same.
async fn test(ctx: &Ctx<'_>, vault: &Vault) -> Result<Handled, CommandError> {
    let user_id = ctx.account()?;
    let keys: Vec<ExchangeKeyRecord> = match ctx.args.text("label") {
        Some(label) => match ctx.services.store.exchange_key(user_id, label).await? {
            Some(k) => vec![k],
            None => {
                return Err(CommandError::user_with(
                    "keys-unknown",
                    vec![("label", label.to_string())],
                ));
            }
        },
        None => ctx.services.store.exchange_keys(user_id).await?,
    };
    if keys.is_empty() {
        return Ok(Reply::text(ctx.t("keys-none")).into());
    }
    let mut lines = Vec::with_capacity(keys.len());
    let mut failed = 0;
    for key in &keys {
        let args = [("label", key.label.as_str()), ("mask", key.api_key_mask.as_str())];
        let line = match vault.open_row(key) {
            Err(e) => {
                tracing::warn!(key_id = key.id, error = %e, "a stored exchange key does not open");
                failed += 1;
                ctx.tr("keys-test-unopenable", &args)
            }
            Ok((api_key, secret)) => match ctx
                .services
                .key_check
                .validate(&key.exchange, &api_key, &secret)
                .await
            {
                Ok(()) => {
                    ctx.services.store.touch_exchange_key(key.id, Utc::now()).await?;
                    ctx.tr("keys-test-ok", &args)
                }
                Err(reason) => {
                    failed += 1;
                    format!("{} {}", ctx.tr("keys-test-failed", &args), ctx.t(reason))
                }
            },
        };
        lines.push(line);
    }
    let mut handled: Handled = if lines.len() == 1 {
        Reply::text(lines.remove(0)).into()
    } else {
        Reply::default().block(Block::List(lines)).into()
    };
    if failed > 0 {
        handled.outcome = chainsignal_core::store::Outcome::UserError;
        handled.detail = Some(format!("{failed} key(s) failed"));
    }
    Ok(handled)
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
