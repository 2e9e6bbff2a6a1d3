//! `/keys add EXCHANGE` on Telegram without the secrets, where `http.public_url` is set:
//! the answer is a one-time link to the bot's HTTPS form (see [`crate::web_form`]). The
//! token is 256 random bits, stored only hashed, good once for [`FORM_TTL`], for the
//! asker's account, this exchange and chat. It is never logged (a hash prefix at most).

use crate::invocation::{ChatKind, Platform};
use crate::reply::Visibility;
use crate::{CommandError, Ctx, Handled, Reply};
use chainsignal_core::store::{NewKeyForm, Outcome, key_form_hash};
use chrono::Utc;

/// How long a form link works.
pub const FORM_TTL: chrono::Duration = chrono::Duration::minutes(10);

/// The link to offer instead of asking for the secrets in the chat; `None` where there
/// is no form (no public URL, not a private Telegram chat): the caller says how else.
pub(crate) async fn offer(ctx: &Ctx<'_>, exchange: &str) -> Result<Option<Handled>, CommandError> {
    let Some(base) = ctx.services.form_url.as_deref() else {
        return Ok(None);
    };
    if ctx.chat_ref.platform != Platform::Telegram || ctx.chat_ref.kind != ChatKind::Private {
        return Ok(None);
    }
    let Some(user_id) = ctx.user_id else {
        return Err(CommandError::Internal("no account for the asker"));
    };
    let (Some(token), Some(csrf)) = (random_hex::<32>(), random_hex::<16>()) else {
        return Err(CommandError::Internal("no randomness for a form token"));
    };
    let token_hash = key_form_hash(&token);
    let now = Utc::now();
    ctx.services
        .store
        .create_key_form(&NewKeyForm {
            token_hash: token_hash.clone(),
            csrf,
            user_id,
            platform: ctx.chat_ref.platform.as_str().into(),
            platform_user_id: ctx.user.id.clone(),
            platform_chat_id: ctx.chat_ref.id.clone(),
            exchange: exchange.to_string(),
            label: ctx.args.text("label").map(str::to_string),
            locale: ctx.locale.code().into(),
            created_at: now,
            expires_at: now + FORM_TTL,
        })
        .await?;
    tracing::info!(
        form = token_hash.get(..8).unwrap_or(""),
        account = user_id,
        exchange,
        "offered a one-time key form"
    );
    let url = format!("{base}/keys/form/{token}");
    let minutes = FORM_TTL.num_minutes().to_string();
    let mut reply = Reply::text(ctx.tr(
        "keys-form-link",
        &[("url", &url), ("minutes", &minutes), ("exchange", exchange)],
    ));
    reply.visibility = Visibility::Private;
    Ok(Some(Handled {
        reply,
        outcome: Outcome::Ok,
        detail: Some("form_link".into()),
    }))
}

/// `N` random bytes as hex; `None` without OS randomness (never a guessable token).
pub(crate) fn random_hex<const N: usize>() -> Option<String> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).ok()?;
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
