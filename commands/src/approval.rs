//! Approval of new people in `access.mode = "approval"`: every admin and owner gets one
//! private message with Approve / Deny buttons (pending actions anyone may press, the
//! role checked at the press); the first decision wins, the other admins' messages are
//! edited to say who decided, and the person is told.

use crate::options::{self, RawInput};
use crate::reply::{Button, ButtonStyle, Reply};
use crate::{CommandError, Ctx, Handled, Locale, Phase, Services, UserRef, registry};
use chainsignal_core::store::{ChatKey, Decision, StoredRole};
use chrono::Utc;

/// How long an approval request's buttons work.
const REQUEST_TTL: chrono::Duration = chrono::Duration::days(7);

/// How a person is named to admins: their display name, else platform:id.
pub(crate) fn person_name(user: &UserRef) -> String {
    match user.display_name.as_deref().map(str::trim) {
        Some(name) if !name.is_empty() => format!("{name} ({}:{})", user.platform, user.id),
        _ => format!("{}:{}", user.platform, user.id),
    }
}

/// The name of an account: its first identity with a display name.
pub(crate) async fn account_name(services: &Services, account: i64) -> String {
    match services.store.identities(account).await {
        Ok(ids) => ids
            .iter()
            .find(|i| i.display_name.is_some())
            .or(ids.first())
            .map(|i| match &i.display_name {
                Some(n) => format!("{n} ({}:{})", i.platform, i.platform_user_id),
                None => format!("{}:{}", i.platform, i.platform_user_id),
            })
            .unwrap_or_else(|| format!("#{account}")),
        Err(_) => format!("#{account}"),
    }
}

async fn chat_locale(services: &Services, chat: &ChatKey) -> Locale {
    match services
        .store
        .ensure_chat(chat, services.default_locale.code())
        .await
    {
        Ok(r) => Locale::from_tag(&r.locale).unwrap_or(services.default_locale),
        Err(_) => services.default_locale,
    }
}

/// How long the approval requests about one person may take before they are given up.
const REQUEST_BUDGET: std::time::Duration = std::time::Duration::from_secs(30);

/// [`request`] in a task of its own, bounded by [`REQUEST_BUDGET`]: the caller (the
/// pending person's reply) does not wait for it.
pub(crate) fn spawn_request(services: &Services, account: i64, who: &UserRef) {
    let services = services.clone();
    let who = who.clone();
    tokio::spawn(async move {
        if tokio::time::timeout(REQUEST_BUDGET, request(&services, account, &who))
            .await
            .is_err()
        {
            tracing::warn!(account, "approval requests timed out; /admin approve still works");
        }
    });
}

/// Ask every admin and owner, once each, to approve or deny `account` (a claim in the
/// database makes it once across retried events and instances). Failures are logged:
/// the person can still be approved with `/admin approve`.
pub(crate) async fn request(services: &Services, account: i64, who: &UserRef) {
    let mut targets: Vec<(String, String)> = services
        .access
        .owners()
        .map(|(p, id)| (p.to_string(), id.to_string()))
        .collect();
    match services.store.admin_identities().await {
        Ok(admins) => targets.extend(admins),
        Err(e) => tracing::warn!(error = %e, "admins unavailable for an approval request"),
    }
    targets.sort();
    targets.dedup();
    let name = person_name(who);
    for (platform, user_id) in targets {
        if let Err(e) = request_one(services, account, &name, who, &platform, &user_id).await {
            tracing::warn!(error = %e, platform = %platform, "an approval request was not sent");
        }
    }
}

async fn request_one(
    services: &Services,
    account: i64,
    name: &str,
    who: &UserRef,
    platform: &str,
    admin: &str,
) -> Result<(), CommandError> {
    let Some(messenger) = services.messengers.get(platform) else {
        return Ok(());
    };
    let Some(spec) = registry::find("admin") else {
        return Err(CommandError::Internal("no /admin command"));
    };
    let Some(chat_id) = messenger.private_chat(admin).await else {
        return Ok(());
    };
    let chat = ChatKey {
        platform: platform.to_string(),
        platform_chat_id: chat_id.clone(),
    };
    if !services
        .store
        .claim_approval_message(account, platform, &chat_id)
        .await?
    {
        // Already sent (or being sent) by another event or instance.
        return Ok(());
    }
    let locale = chat_locale(services, &chat).await;
    let i18n = &services.i18n;
    let mut buttons = Vec::new();
    for (sub, label, style) in [
        ("approve", "button-approve", ButtonStyle::Primary),
        ("deny", "button-deny", ButtonStyle::Danger),
    ] {
        let args = options::decode(
            spec.options,
            spec.subs,
            spec.default_sub,
            &RawInput::Text(format!("{sub} #{account}")),
            options::DecodeContext {
                quote: &services.quote,
                reply_to: None,
                private: true,
                stored: true,
            },
        )
        .map_err(|_| CommandError::Internal("approval arguments"))?;
        let token =
            crate::create_pending(&services.store, &chat, None, spec.name, &args, false, REQUEST_TTL).await?;
        buttons.push(Button {
            label: i18n.t(locale, label),
            style,
            data: crate::confirm_data(&token),
        });
    }
    let account_text = format!("#{account}");
    let mut reply = Reply::text(i18n.tr(
        locale,
        "approval-request",
        &[
            ("name", name),
            ("platform", who.platform.as_str()),
            ("account", &account_text),
        ],
    ));
    reply.buttons = buttons;
    if let Some(message_id) = messenger.send(&chat_id, &reply).await {
        services
            .store
            .save_approval_message(account, platform, &chat_id, &message_id)
            .await?;
    }
    Ok(())
}

/// Approve (a trader) or deny (blocked) a pending account, once.
pub(crate) async fn decide(ctx: &Ctx<'_>, account: i64, approve: bool) -> Result<Handled, CommandError> {
    let services = ctx.services;
    let by = person_name(ctx.user);
    let role = if approve {
        StoredRole::Trader
    } else {
        StoredRole::Blocked
    };
    let name = account_name(services, account).await;
    match services
        .store
        .decide_pending(account, role, &by, Utc::now())
        .await?
    {
        Decision::Decided => {}
        Decision::AlreadyDecided { by: Some(by), .. } => {
            return Err(CommandError::user_with(
                "approval-already-decided",
                vec![("name", name), ("by", by)],
            ));
        }
        Decision::AlreadyDecided { by: None, .. } => {
            return Err(CommandError::user_with("admin-not-pending", vec![("name", name)]));
        }
        Decision::Unknown => {
            return Err(CommandError::user_with(
                "admin-user-unknown",
                vec![("user", format!("#{account}"))],
            ));
        }
    }
    let key = if approve {
        "approval-approved"
    } else {
        "approval-denied"
    };
    let args = [("name", name.as_str()), ("by", by.as_str())];
    // The other admins' requests now say who decided (the one pressed is edited by the
    // adapter with this answer).
    for (platform, chat_id, message_id) in services.store.approval_messages(account).await? {
        let pressed_here = ctx.phase == Phase::Confirmed
            && platform == ctx.chat.platform
            && chat_id == ctx.chat.platform_chat_id;
        let Some(messenger) = services.messengers.get(&platform).filter(|_| !pressed_here) else {
            continue;
        };
        let chat = ChatKey {
            platform: platform.clone(),
            platform_chat_id: chat_id.clone(),
        };
        let locale = chat_locale(services, &chat).await;
        let reply = Reply::text(services.i18n.tr(locale, key, &args));
        if !messenger.edit(&chat_id, &message_id, &reply).await {
            tracing::warn!(platform = %platform, "an approval request could not be updated");
        }
    }
    tell(
        services,
        account,
        if approve {
            "access-approved"
        } else {
            "access-denied"
        },
    )
    .await;
    Ok(Reply::text(ctx.tr(key, &args)).into())
}

/// Tell every identity of `account`, privately, one localized line.
pub(crate) async fn tell(services: &Services, account: i64, key: &str) {
    let identities = match services.store.identities(account).await {
        Ok(ids) => ids,
        Err(e) => {
            tracing::warn!(error = %e, "identities unavailable");
            return;
        }
    };
    for identity in identities {
        let Some(messenger) = services.messengers.get(&identity.platform) else {
            continue;
        };
        let Some(chat_id) = messenger.private_chat(&identity.platform_user_id).await else {
            continue;
        };
        let chat = ChatKey {
            platform: identity.platform.clone(),
            platform_chat_id: chat_id.clone(),
        };
        let locale = chat_locale(services, &chat).await;
        if messenger
            .send(&chat_id, &Reply::text(services.i18n.t(locale, key)))
            .await
            .is_none()
        {
            tracing::info!(platform = %identity.platform, "a person could not be told a decision");
        }
    }
}
