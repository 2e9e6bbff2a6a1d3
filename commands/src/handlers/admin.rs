//! `/admin …`: the admins' commands (admins and owners). Each sub-command is a line in
//! `registry::ADMIN_SUBS` and an arm of [`run`].

use crate::access::Denial;
use crate::approval::{account_name, decide, tell};
use crate::options::UserArg;
use crate::{Block, CommandError, Ctx, Handled, Reply, Role};
use chainsignal_core::store::{Account, StoredRole};

/// Accounts per page of `/admin users`.
pub const PAGE: i64 = 10;

pub(crate) async fn run(ctx: &Ctx<'_>) -> Result<Handled, CommandError> {
    match ctx.args.sub {
        Some("approve") => decide(ctx, target(ctx).await?.id, true).await,
        Some("deny") => decide(ctx, target(ctx).await?.id, false).await,
        Some("block") => {
            let account = target(ctx).await?;
            let reason = ctx
                .args
                .text("reason")
                .map(|r| r.chars().take(200).collect::<String>());
            change_role(
                ctx,
                &account,
                StoredRole::Blocked,
                reason.as_deref(),
                "admin-blocked",
            )
            .await
        }
        Some("unblock") => {
            let account = target(ctx).await?;
            if account.role != StoredRole::Blocked {
                let name = account_name(ctx.services, account.id).await;
                return Err(CommandError::user_with("admin-not-blocked", vec![("name", name)]));
            }
            change_role(ctx, &account, StoredRole::Trader, None, "admin-unblocked").await
        }
        Some("role") => {
            let account = target(ctx).await?;
            let role = ctx
                .args
                .choice("role")
                .and_then(StoredRole::parse)
                .ok_or(CommandError::Internal("a role option without a role"))?;
            change_role(ctx, &account, role, None, "admin-role-set").await
        }
        Some("keys") => keys(ctx).await,
        Some("live") => live(ctx).await,
        _ => users(ctx).await,
    }
}

/// `/admin live USER on|off`: allow (or forbid) `/mode live` for an account; it still
/// needs the operator's `trading.live_enabled`. Forbidding moves the account to paper.
async fn live(ctx: &Ctx<'_>) -> Result<Handled, CommandError> {
    let account = target(ctx).await?;
    let allow = ctx.args.choice("allow") == Some("on");
    ctx.services
        .desk
        .allow_live(account.id, allow)
        .await
        .map_err(|e| super::trade::desk_error(ctx, e))?;
    let name = account_name(ctx.services, account.id).await;
    let key = match (allow, ctx.services.desk.settings().live_enabled) {
        (true, true) => "admin-live-on",
        (true, false) => "admin-live-on-but-disabled",
        (false, _) => "admin-live-off",
    };
    Ok(Reply::text(ctx.tr(key, &[("name", &name)])).into())
}

/// `/admin keys`: the stored exchange keys across accounts, counted by age band and
/// venue; never a key, a mask or a label.
async fn keys(ctx: &Ctx<'_>) -> Result<Handled, CommandError> {
    let ages = ctx.services.store.exchange_key_ages().await?;
    let max = ctx.services.key_max_age_days;
    let p = crate::key_posture::posture(&ages, chrono::Utc::now(), max);
    let half = (max / 2).to_string();
    let max = max.to_string();
    let count = |n: usize| n.to_string();
    let fields = vec![
        (ctx.tr("admin-keys-fresh", &[("half", &half)]), count(p.fresh)),
        (
            ctx.tr("admin-keys-aging", &[("half", &half), ("max", &max)]),
            count(p.aging),
        ),
        (ctx.tr("admin-keys-old", &[("max", &max)]), count(p.old)),
        (ctx.t("admin-keys-live"), count(p.live)),
        (ctx.t("admin-keys-testnet"), count(p.testnet)),
        (ctx.t("admin-keys-accounts"), count(p.accounts)),
        (ctx.t("admin-keys-accounts-old"), count(p.accounts_with_old)),
    ];
    Ok(Reply::default()
        .block(Block::Title(
            ctx.tr("admin-keys-title", &[("total", &count(ages.len()))]),
        ))
        .block(Block::Fields(fields))
        .into())
}

/// The account named by the `user` option: an account number (`#42`), a platform id
/// (a Discord user option, a Telegram numeric id or reply), or a name.
pub(crate) async fn target(ctx: &Ctx<'_>) -> Result<Account, CommandError> {
    let store = &ctx.services.store;
    let platform = ctx.user.platform.as_str();
    let unknown = |given: String| CommandError::user_with("admin-user-unknown", vec![("user", given)]);
    let Some(user) = ctx.args.user("user") else {
        return Err(unknown(String::new()));
    };
    match user {
        UserArg::Account(n) => store.account(*n).await?.ok_or_else(|| unknown(format!("#{n}"))),
        UserArg::Id(id) => store
            .account_by_identity(platform, id)
            .await?
            .ok_or_else(|| unknown(id.clone())),
        UserArg::Username(name) => {
            let found = store.accounts_named(platform, name).await?;
            match found.as_slice() {
                [one] => store
                    .account(*one)
                    .await?
                    .ok_or_else(|| unknown(format!("@{name}"))),
                [] => Err(unknown(format!("@{name}"))),
                _ => Err(CommandError::user_with(
                    "admin-user-ambiguous",
                    vec![("user", format!("@{name}"))],
                )),
            }
        }
    }
}

/// Whether any identity of the account is an owner (config, console).
pub(crate) async fn is_owner(ctx: &Ctx<'_>, account: i64) -> Result<bool, CommandError> {
    let access = &ctx.services.access;
    Ok(ctx
        .services
        .store
        .identities(account)
        .await?
        .iter()
        .any(|i| access.is_owner(&i.platform, &i.platform_user_id)))
}

/// Give `account` the role `role`: never an owner's (it comes from the config); to or
/// from admin only by an owner.
async fn change_role(
    ctx: &Ctx<'_>,
    account: &Account,
    role: StoredRole,
    reason: Option<&str>,
    done_key: &'static str,
) -> Result<Handled, CommandError> {
    let name = account_name(ctx.services, account.id).await;
    if is_owner(ctx, account.id).await? {
        return Err(CommandError::user_with("admin-owner-fixed", vec![("name", name)]));
    }
    if (role == StoredRole::Admin || account.role == StoredRole::Admin) && ctx.role < Role::Owner {
        return Err(CommandError::Denied(Denial::NeedsOwner));
    }
    ctx.services.store.set_role(account.id, role, reason).await?;
    if role == StoredRole::Blocked && account.role == StoredRole::Pending {
        tell(ctx.services, account.id, "access-denied").await;
    }
    Ok(Reply::text(ctx.tr(
        done_key,
        &[("name", &name), ("role", &ctx.role_word(role.as_str()))],
    ))
    .into())
}

async fn users(ctx: &Ctx<'_>) -> Result<Handled, CommandError> {
    let role = ctx.args.choice("role").and_then(StoredRole::parse);
    let page = ctx.args.integer("page").unwrap_or(1).max(1);
    let (accounts, total) = ctx
        .services
        .store
        .list_accounts(role, PAGE, (page - 1) * PAGE)
        .await?;
    if accounts.is_empty() {
        return Ok(Reply::text(ctx.t("admin-users-none")).into());
    }
    let pages = ((total + PAGE - 1) / PAGE).max(1);
    let access = &ctx.services.access;
    let mut open = Vec::with_capacity(accounts.len());
    for a in &accounts {
        open.push(ctx.services.store.open_position_count(Some(a.account.id)).await?);
    }
    let lines = accounts
        .iter()
        .zip(open)
        .map(|(a, open)| {
            let owner = a
                .identities
                .iter()
                .any(|i| access.is_owner(&i.platform, &i.platform_user_id));
            let mut name = a
                .identities
                .iter()
                .find_map(|i| i.display_name.clone())
                .or_else(|| a.identities.first().map(|i| i.platform_user_id.clone()))
                .unwrap_or_else(|| "—".into());
            // Telegram usernames, as `@name` (what `/admin … @name` takes).
            for username in a.identities.iter().filter_map(|i| i.username.as_deref()) {
                name.push_str(" @");
                name.push_str(username);
            }
            let mut platforms: Vec<&str> = a.identities.iter().map(|i| i.platform.as_str()).collect();
            platforms.dedup();
            let seen = a
                .identities
                .iter()
                .map(|i| i.last_seen_at)
                .max()
                .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_else(|| "—".into());
            let role = ctx.role_word(if owner { "owner" } else { a.account.role.as_str() });
            ctx.tr(
                "admin-users-line",
                &[
                    ("account", &format!("#{}", a.account.id)),
                    ("name", &name),
                    ("platforms", &platforms.join("+")),
                    ("role", &role),
                    ("seen", &seen),
                    ("positions", &open.to_string()),
                    ("keys", &a.keys.to_string()),
                ],
            )
        })
        .collect();
    Ok(Reply::default()
        .block(Block::Title(ctx.tr(
            "admin-users-title",
            &[
                ("page", &page.to_string()),
                ("pages", &pages.to_string()),
                ("total", &total.to_string()),
            ],
        )))
        .block(Block::List(lines))
        .into())
}
