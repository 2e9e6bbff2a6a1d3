//! `/link [code]`, `/unlink`, `/whoami`: one account across Discord, Telegram and the
//! console.

use crate::{Block, CONFIRM_TTL, CommandError, Ctx, Handled, Phase, Reply, Visibility};
use chainsignal_core::store::{LinkOutcome, LinkPolicy, UnlinkOutcome, WrongCode, link_code_hash};
use chrono::Utc;

/// Letters and digits that cannot be mistaken for one another (no 0/O, 1/I/L).
const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
/// Characters of a link code (31^10: about 50 bits).
pub const CODE_LEN: usize = 10;
/// How long a link code works.
pub const CODE_TTL_MINUTES: i64 = 10;

/// A new code from OS randomness (without bias); `None` without randomness.
fn new_code() -> Option<String> {
    let n = ALPHABET.len();
    let limit = (256 / n * n) as u16;
    let mut out = String::with_capacity(CODE_LEN);
    while out.len() < CODE_LEN {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).ok()?;
        for b in bytes {
            if (b as u16) < limit && out.len() < CODE_LEN {
                out.push(ALPHABET[b as usize % n] as char);
            }
        }
    }
    Some(out)
}

/// A code as typed: spaces and dashes dropped, upper case.
pub fn normalize(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

pub(crate) async fn link(ctx: &Ctx<'_>) -> Result<Handled, CommandError> {
    let account = ctx.account()?;
    let store = &ctx.services.store;
    let platform = ctx.user.platform.as_str();
    let now = Utc::now();
    let Some(code) = ctx.args.text("code") else {
        let code = new_code().ok_or(CommandError::Internal("no randomness for a link code"))?;
        store
            .create_link_code(
                account,
                &link_code_hash(&code),
                now,
                now + chrono::Duration::minutes(CODE_TTL_MINUTES),
            )
            .await?;
        let mut reply = Reply::text(ctx.tr(
            "link-code",
            &[("code", &code), ("minutes", &CODE_TTL_MINUTES.to_string())],
        ));
        reply.visibility = Visibility::Private;
        return Ok(reply.into());
    };
    let policy = LinkPolicy::default();
    let outcome = store
        .redeem_link_code(
            platform,
            &ctx.user.id,
            &link_code_hash(&normalize(code)),
            now,
            policy,
        )
        .await?;
    match outcome {
        LinkOutcome::Linked { account } => {
            let platforms = store
                .identities(account)
                .await?
                .iter()
                .map(|i| i.platform.clone())
                .collect::<Vec<_>>()
                .join(", ");
            Ok(Reply::text(ctx.tr(
                "link-done",
                &[("account", &format!("#{account}")), ("platforms", &platforms)],
            ))
            .into())
        }
        LinkOutcome::SameAccount => Err(CommandError::user("link-same-account")),
        LinkOutcome::BothOwnData => Err(CommandError::user("link-both-own-data")),
        LinkOutcome::Wrong { why, failures } => {
            let key = match why {
                WrongCode::Unknown => "link-code-wrong",
                WrongCode::Expired => "link-code-expired",
                WrongCode::Used => "link-code-used",
            };
            let left = (policy.max_failures - failures).max(0).to_string();
            Err(CommandError::user_with(key, vec![("left", left)]))
        }
        LinkOutcome::Locked { until } => {
            let minutes = ((until - now).num_seconds() + 59) / 60;
            Err(CommandError::user_with(
                "link-locked",
                vec![("minutes", minutes.max(1).to_string())],
            ))
        }
    }
}

pub(crate) async fn unlink(ctx: &Ctx<'_>) -> Result<Handled, CommandError> {
    let account = ctx.account()?;
    let store = &ctx.services.store;
    let platform = ctx.user.platform.as_str();
    if ctx.phase == Phase::Run {
        if store.identities(account).await?.len() <= 1 {
            return Err(CommandError::user("unlink-last"));
        }
        let mut reply = Reply::text(ctx.tr("unlink-confirm", &[("platform", platform)]));
        reply.buttons = ctx.confirm_buttons(&ctx.args, CONFIRM_TTL).await?;
        return Ok(reply.into());
    }
    let new_role = ctx.services.access.new_role();
    match store
        .unlink_identity(platform, &ctx.user.id, new_role, Utc::now())
        .await?
    {
        UnlinkOutcome::Unlinked { account } => Ok(Reply::text(ctx.tr(
            "unlink-done",
            &[("platform", platform), ("account", &format!("#{account}"))],
        ))
        .into()),
        UnlinkOutcome::LastIdentity | UnlinkOutcome::Unknown => Err(CommandError::user("unlink-last")),
    }
}

pub(crate) async fn whoami(ctx: &Ctx<'_>) -> Result<Handled, CommandError> {
    let account = ctx.account()?;
    let identities = ctx.services.store.identities(account).await?;
    let lines = identities
        .iter()
        .map(|i| match &i.display_name {
            Some(name) => format!("{}: {name} ({})", i.platform, i.platform_user_id),
            None => format!("{}: {}", i.platform, i.platform_user_id),
        })
        .collect();
    let mut reply = Reply::text(ctx.tr(
        "whoami",
        &[
            ("account", &format!("#{account}")),
            ("role", &ctx.role_word(ctx.role.as_str())),
        ],
    ))
    .block(Block::List(lines));
    reply.visibility = Visibility::Private;
    Ok(reply.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_long_unambiguous_and_different() {
        let a = new_code().unwrap();
        let b = new_code().unwrap();
        assert_eq!(a.chars().count(), CODE_LEN);
        assert!(a.bytes().all(|c| ALPHABET.contains(&c)), "{a}");
        assert!(!a.contains(['0', 'O', '1', 'I', 'L']));
        assert_ne!(a, b);
        assert_eq!(normalize(" abcde-fghjk "), "ABCDEFGHJK");
    }
}
