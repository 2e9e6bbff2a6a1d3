//! Accounts: one per person (`users`), with its platform identities (`user_identities`),
//! its stored role, approvals, one-time link codes and the lockout of wrong codes.
//!
//! The owner is not stored: it comes from the config (and the console), see
//! `chainsignal_commands::access`.

use super::engine::{Engine, WriteTx, sql};
use super::{Identity, StoreError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// A role kept in the database (`users.role`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoredRole {
    Admin,
    Trader,
    Viewer,
    Pending,
    Blocked,
}

impl StoredRole {
    pub const ALL: [StoredRole; 5] = [
        StoredRole::Admin,
        StoredRole::Trader,
        StoredRole::Viewer,
        StoredRole::Pending,
        StoredRole::Blocked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StoredRole::Admin => "admin",
            StoredRole::Trader => "trader",
            StoredRole::Viewer => "viewer",
            StoredRole::Pending => "pending",
            StoredRole::Blocked => "blocked",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str().eq_ignore_ascii_case(s))
    }

    /// How much the role may do, for merging two accounts of one person (blocked wins
    /// apart: see [`merged_role`]).
    fn rank(self) -> u8 {
        match self {
            StoredRole::Blocked => 0,
            StoredRole::Pending => 1,
            StoredRole::Viewer => 2,
            StoredRole::Trader => 3,
            StoredRole::Admin => 4,
        }
    }
}

/// The role of two accounts joined by a link code: blocked if either is (linking is no
/// way out of a block), else the higher one (both are the same person).
pub fn merged_role(a: StoredRole, b: StoredRole) -> StoredRole {
    if a == StoredRole::Blocked || b == StoredRole::Blocked {
        StoredRole::Blocked
    } else if a.rank() >= b.rank() {
        a
    } else {
        b
    }
}

/// What is kept of a link code: its SHA-256, hex (the code itself never is).
pub fn link_code_hash(code: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(code.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn role_of(text: &str) -> StoredRole {
    // An unknown value (a newer version's role) grants nothing.
    StoredRole::parse(text).unwrap_or(StoredRole::Pending)
}

/// An account as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: i64,
    pub role: StoredRole,
    pub block_reason: Option<String>,
    /// Who approved or denied it ("platform:id name"), when it was pending once.
    pub approved_by: Option<String>,
}

type AccountRow = (i64, String, Option<String>, Option<String>);

fn account(row: AccountRow) -> Account {
    Account {
        id: row.0,
        role: role_of(&row.1),
        block_reason: row.2,
        approved_by: row.3,
    }
}

/// One platform identity of an account.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AccountIdentity {
    pub platform: String,
    pub platform_user_id: String,
    pub display_name: Option<String>,
    /// The platform username (Telegram `@username`), when the platform has one.
    pub username: Option<String>,
    pub last_seen_at: DateTime<Utc>,
}

/// One account of a listing, with its identities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSummary {
    pub account: Account,
    pub identities: Vec<AccountIdentity>,
    /// Exchange keys stored for the account.
    pub keys: i64,
}

/// What deciding on a pending account did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// This call decided.
    Decided,
    /// Someone decided before (or the account is not pending): its role now, and who.
    AlreadyDecided {
        role: StoredRole,
        by: Option<String>,
    },
    Unknown,
}

/// Why a link code did not link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WrongCode {
    Unknown,
    Expired,
    Used,
}

/// What `/link CODE` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkOutcome {
    /// The identity (and any other of its former account) now belongs to `account`.
    Linked { account: i64 },
    /// The code is this identity's own account's.
    SameAccount,
    /// Both accounts own data: nothing merged, the code stays usable.
    BothOwnData,
    /// A wrong code; `failures` in a row so far.
    Wrong { why: WrongCode, failures: i64 },
    /// Too many wrong codes: /link is locked for this identity until then.
    Locked { until: DateTime<Utc> },
}

/// What `/unlink` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnlinkOutcome {
    /// The identity has a fresh account of its own.
    Unlinked {
        account: i64,
    },
    /// It is the account's only identity: nothing done.
    LastIdentity,
    Unknown,
}

/// The lockout of `/link`: `max_failures` wrong codes in a row lock it for `lock`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkPolicy {
    pub max_failures: i64,
    pub lock: chrono::Duration,
}

impl Default for LinkPolicy {
    fn default() -> Self {
        Self {
            max_failures: 20,
            lock: chrono::Duration::minutes(15),
        }
    }
}

#[async_trait]
pub trait AccountStore: Send + Sync {
    /// The account behind a platform identity, created with `new_role` on first sight
    /// (its `last_seen_at` and display name refreshed otherwise); `true` when created now.
    async fn ensure_account(
        &self,
        identity: &Identity,
        new_role: StoredRole,
    ) -> Result<(Account, bool), StoreError>;
    async fn account(&self, id: i64) -> Result<Option<Account>, StoreError>;
    async fn account_by_identity(
        &self,
        platform: &str,
        platform_user_id: &str,
    ) -> Result<Option<Account>, StoreError>;
    /// Accounts with an identity on `platform` whose username is `name` (no `@`,
    /// without case); when none, those whose display name is.
    async fn accounts_named(&self, platform: &str, name: &str) -> Result<Vec<i64>, StoreError>;
    async fn identities(&self, account: i64) -> Result<Vec<AccountIdentity>, StoreError>;
    /// Set the role (and the block reason: kept only for `blocked`); false when unknown.
    async fn set_role(
        &self,
        account: i64,
        role: StoredRole,
        reason: Option<&str>,
    ) -> Result<bool, StoreError>;
    /// Approve (`role`) or deny (blocked) a pending account, once: of two calls on any
    /// instances, one decides.
    async fn decide_pending(
        &self,
        account: i64,
        role: StoredRole,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<Decision, StoreError>;
    /// A page of accounts (by id), optionally of one role, and how many there are.
    async fn list_accounts(
        &self,
        role: Option<StoredRole>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<AccountSummary>, i64), StoreError>;
    /// The identities of every stored admin (owners come from the config).
    async fn admin_identities(&self) -> Result<Vec<(String, String)>, StoreError>;
    /// Whether the account owns anything (today: AI usage) that linking would merge.
    async fn account_owns_data(&self, account: i64) -> Result<bool, StoreError>;
    /// Keep a new link code (its hash) for `account`, replacing its unused ones.
    async fn create_link_code(
        &self,
        account: i64,
        code_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Until when `/link` is locked for this identity, if it is.
    async fn link_locked_until(
        &self,
        platform: &str,
        platform_user_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, StoreError>;
    /// Redeem a code for the identity (whose account must exist), atomically.
    async fn redeem_link_code(
        &self,
        platform: &str,
        platform_user_id: &str,
        code_hash: &str,
        now: DateTime<Utc>,
        policy: LinkPolicy,
    ) -> Result<LinkOutcome, StoreError>;
    /// Give the identity a fresh account of its own. Its role is the lower of the
    /// account's and `new_role` (what a new person gets now), never above trader: no way
    /// out of a block, no approval skipped, no admin made without the owner.
    async fn unlink_identity(
        &self,
        platform: &str,
        platform_user_id: &str,
        new_role: StoredRole,
        now: DateTime<Utc>,
    ) -> Result<UnlinkOutcome, StoreError>;
    /// Remember the Approve / Deny message an admin got about `account`.
    async fn save_approval_message(
        &self,
        account: i64,
        platform: &str,
        platform_chat_id: &str,
        message_id: &str,
    ) -> Result<(), StoreError>;
    /// Claim the right to send the one Approve / Deny message about `account` to this
    /// admin chat: `true` once (across retried events and instances), `false` after.
    async fn claim_approval_message(
        &self,
        account: i64,
        platform: &str,
        platform_chat_id: &str,
    ) -> Result<bool, StoreError>;
    /// The Approve / Deny messages about `account`: (platform, chat id, message id);
    /// claimed but never sent ones are left out.
    async fn approval_messages(&self, account: i64) -> Result<Vec<(String, String, String)>, StoreError>;
}

const ACCOUNT: &str = "SELECT id, role, block_reason, approved_by FROM users WHERE id = $1";

#[async_trait]
impl<E: Engine> AccountStore for E {
    async fn ensure_account(
        &self,
        identity: &Identity,
        new_role: StoredRole,
    ) -> Result<(Account, bool), StoreError> {
        let now = Utc::now();
        let mut tx = self.begin_write().await?;
        let found: Option<AccountRow> = sql("SELECT u.id, u.role, u.block_reason, u.approved_by \
             FROM user_identities i JOIN users u ON u.id = i.user_id \
             WHERE i.platform = $1 AND i.platform_user_id = $2")
        .bind(&identity.platform)
        .bind(&identity.platform_user_id)
        .fetch_optional(&mut tx)
        .await?;
        if let Some(row) = found {
            sql("UPDATE user_identities SET last_seen_at = $1, \
                 display_name = COALESCE($2, display_name), username = COALESCE($5, username) \
                 WHERE platform = $3 AND platform_user_id = $4")
            .bind(now)
            .bind(&identity.display_name)
            .bind(&identity.platform)
            .bind(&identity.platform_user_id)
            .bind(&identity.username)
            .execute(&mut tx)
            .await?;
            tx.commit().await?;
            return Ok((account(row), false));
        }
        let (new_id,): (i64,) = sql("INSERT INTO users (created_at, role) VALUES ($1, $2) RETURNING id")
            .bind(now)
            .bind(new_role.as_str())
            .fetch_one(&mut tx)
            .await?;
        let inserted = sql(
            "INSERT INTO user_identities (user_id, platform, platform_user_id, \
             display_name, created_at, last_seen_at, username) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (platform, platform_user_id) DO NOTHING",
        )
        .bind(new_id)
        .bind(&identity.platform)
        .bind(&identity.platform_user_id)
        .bind(&identity.display_name)
        .bind(now)
        .bind(now)
        .bind(&identity.username)
        .execute(&mut tx)
        .await?;
        if inserted == 0 {
            // Another connection created this identity meanwhile (PostgreSQL): drop our
            // account row, answer with theirs.
            tx.rollback().await?;
            let row: AccountRow = sql("SELECT u.id, u.role, u.block_reason, u.approved_by \
                 FROM user_identities i JOIN users u ON u.id = i.user_id \
                 WHERE i.platform = $1 AND i.platform_user_id = $2")
            .bind(&identity.platform)
            .bind(&identity.platform_user_id)
            .write_one(self)
            .await?;
            return Ok((account(row), false));
        }
        tx.commit().await?;
        Ok((
            Account {
                id: new_id,
                role: new_role,
                block_reason: None,
                approved_by: None,
            },
            true,
        ))
    }

    async fn account(&self, id: i64) -> Result<Option<Account>, StoreError> {
        let row: Option<AccountRow> = sql(ACCOUNT).bind(id).write_optional(self).await?;
        Ok(row.map(account))
    }

    async fn account_by_identity(
        &self,
        platform: &str,
        platform_user_id: &str,
    ) -> Result<Option<Account>, StoreError> {
        let row: Option<AccountRow> = sql("SELECT u.id, u.role, u.block_reason, u.approved_by \
             FROM user_identities i JOIN users u ON u.id = i.user_id \
             WHERE i.platform = $1 AND i.platform_user_id = $2")
        .bind(platform)
        .bind(platform_user_id)
        .write_optional(self)
        .await?;
        Ok(row.map(account))
    }

    async fn accounts_named(&self, platform: &str, name: &str) -> Result<Vec<i64>, StoreError> {
        let name = name.trim_start_matches('@').to_lowercase();
        // The username first (case-insensitive); the display name only when no username
        // matches.
        let by_username: Vec<(i64,)> = sql("SELECT DISTINCT user_id FROM user_identities \
             WHERE platform = $1 AND LOWER(username) = $2 ORDER BY user_id")
        .bind(platform)
        .bind(name.as_str())
        .read_all(self)
        .await?;
        if !by_username.is_empty() {
            return Ok(by_username.into_iter().map(|(id,)| id).collect());
        }
        let rows: Vec<(i64,)> = sql("SELECT DISTINCT user_id FROM user_identities \
             WHERE platform = $1 AND (LOWER(display_name) = $2 OR LOWER(display_name) = $3) \
             ORDER BY user_id")
        .bind(platform)
        .bind(name.as_str())
        .bind(format!("@{name}").as_str())
        .read_all(self)
        .await?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    async fn identities(&self, account: i64) -> Result<Vec<AccountIdentity>, StoreError> {
        Ok(sql(
            "SELECT platform, platform_user_id, display_name, username, last_seen_at \
             FROM user_identities WHERE user_id = $1 ORDER BY platform, platform_user_id",
        )
        .bind(account)
        .read_all(self)
        .await?)
    }

    async fn set_role(
        &self,
        account: i64,
        role: StoredRole,
        reason: Option<&str>,
    ) -> Result<bool, StoreError> {
        let reason = if role == StoredRole::Blocked { reason } else { None };
        let n = sql("UPDATE users SET role = $1, block_reason = $2 WHERE id = $3")
            .bind(role.as_str())
            .bind(reason)
            .bind(account)
            .write(self)
            .await?;
        Ok(n == 1)
    }

    async fn decide_pending(
        &self,
        account_id: i64,
        role: StoredRole,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<Decision, StoreError> {
        let n = sql("UPDATE users SET role = $1, approved_by = $2, approved_at = $3 \
             WHERE id = $4 AND role = 'pending'")
        .bind(role.as_str())
        .bind(by)
        .bind(now)
        .bind(account_id)
        .write(self)
        .await?;
        if n == 1 {
            return Ok(Decision::Decided);
        }
        Ok(match self.account(account_id).await? {
            Some(a) => Decision::AlreadyDecided {
                role: a.role,
                by: a.approved_by,
            },
            None => Decision::Unknown,
        })
    }

    async fn list_accounts(
        &self,
        role: Option<StoredRole>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<AccountSummary>, i64), StoreError> {
        let role = role.map(StoredRole::as_str);
        let (total,): (i64,) =
            sql("SELECT CAST(COUNT(*) AS BIGINT) FROM users WHERE ($1 IS NULL OR role = $1)")
                .bind(role)
                .read_one(self)
                .await?;
        let rows: Vec<AccountRow> = sql("SELECT id, role, block_reason, approved_by FROM users \
             WHERE ($1 IS NULL OR role = $1) ORDER BY id LIMIT $2 OFFSET $3")
        .bind(role)
        .bind(limit)
        .bind(offset)
        .read_all(self)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let account = account(row);
            let identities = self.identities(account.id).await?;
            let (keys,): (i64,) =
                sql("SELECT CAST(COUNT(*) AS BIGINT) FROM exchange_keys WHERE user_id = $1")
                    .bind(account.id)
                    .read_one(self)
                    .await?;
            out.push(AccountSummary {
                account,
                identities,
                keys,
            });
        }
        Ok((out, total))
    }

    async fn admin_identities(&self) -> Result<Vec<(String, String)>, StoreError> {
        Ok(
            sql("SELECT i.platform, i.platform_user_id FROM user_identities i \
             JOIN users u ON u.id = i.user_id WHERE u.role = 'admin' \
             ORDER BY i.platform, i.platform_user_id")
            .read_all(self)
            .await?,
        )
    }

    async fn account_owns_data(&self, account: i64) -> Result<bool, StoreError> {
        let (n,): (i64,) = sql(OWNS_DATA).bind(account).write_one(self).await?;
        Ok(n > 0)
    }

    async fn create_link_code(
        &self,
        account: i64,
        code_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sql("DELETE FROM link_codes WHERE (user_id = $1 AND used_at IS NULL) OR expires_at < $2")
            .bind(account)
            .bind(now - chrono::Duration::days(1))
            .execute(&mut tx)
            .await?;
        sql("INSERT INTO link_codes (code_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(code_hash)
            .bind(account)
            .bind(now)
            .bind(expires_at)
            .execute(&mut tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn link_locked_until(
        &self,
        platform: &str,
        platform_user_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let row: Option<(Option<DateTime<Utc>>,)> =
            sql("SELECT locked_until FROM link_attempts WHERE platform = $1 AND platform_user_id = $2")
                .bind(platform)
                .bind(platform_user_id)
                .write_optional(self)
                .await?;
        Ok(row.and_then(|(t,)| t).filter(|t| *t > now))
    }

    async fn redeem_link_code(
        &self,
        platform: &str,
        platform_user_id: &str,
        code_hash: &str,
        now: DateTime<Utc>,
        policy: LinkPolicy,
    ) -> Result<LinkOutcome, StoreError> {
        let mut tx = self.begin_write().await?;
        let lock: Option<(Option<DateTime<Utc>>,)> =
            sql("SELECT locked_until FROM link_attempts WHERE platform = $1 AND platform_user_id = $2")
                .bind(platform)
                .bind(platform_user_id)
                .fetch_optional(&mut tx)
                .await?;
        if let Some(until) = lock.and_then(|(t,)| t).filter(|t| *t > now) {
            return Ok(LinkOutcome::Locked { until });
        }
        // Claimed first, in one statement: two redemptions at once (PostgreSQL, READ
        // COMMITTED) cannot both see it unused. A code that is refused afterwards (same
        // account, both own data) stays used: it may have been read where it was typed.
        let claimed: Option<(i64,)> = sql("UPDATE link_codes SET used_at = $1 \
             WHERE code_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING user_id")
        .bind(now)
        .bind(code_hash)
        .fetch_optional(&mut tx)
        .await?;
        let wrong = match claimed {
            Some(_) => None,
            None => {
                let code: Option<(DateTime<Utc>, Option<DateTime<Utc>>)> =
                    sql("SELECT expires_at, used_at FROM link_codes WHERE code_hash = $1")
                        .bind(code_hash)
                        .fetch_optional(&mut tx)
                        .await?;
                Some(match code {
                    None => WrongCode::Unknown,
                    Some((_, Some(_))) => WrongCode::Used,
                    Some(_) => WrongCode::Expired,
                })
            }
        };
        let (target, source) = match (wrong, claimed) {
            (None, Some((target,))) => {
                let (source,): (i64,) =
                    sql("SELECT user_id FROM user_identities WHERE platform = $1 AND platform_user_id = $2")
                        .bind(platform)
                        .bind(platform_user_id)
                        .fetch_one(&mut tx)
                        .await?;
                (target, source)
            }
            (why, _) => {
                let why = why.unwrap_or(WrongCode::Unknown);
                let (failures,): (i64,) = sql(
                    "INSERT INTO link_attempts (platform, platform_user_id, failures, locked_until, updated_at) \
                     VALUES ($1, $2, 1, NULL, $3) ON CONFLICT (platform, platform_user_id) \
                     DO UPDATE SET failures = link_attempts.failures + 1, updated_at = $3 \
                     RETURNING CAST(failures AS BIGINT)",
                )
                .bind(platform)
                .bind(platform_user_id)
                .bind(now)
                .fetch_one(&mut tx)
                .await?;
                let outcome = if failures >= policy.max_failures {
                    let until = now + policy.lock;
                    sql("UPDATE link_attempts SET failures = 0, locked_until = $1 \
                         WHERE platform = $2 AND platform_user_id = $3")
                    .bind(until)
                    .bind(platform)
                    .bind(platform_user_id)
                    .execute(&mut tx)
                    .await?;
                    LinkOutcome::Locked { until }
                } else {
                    LinkOutcome::Wrong { why, failures }
                };
                tx.commit().await?;
                return Ok(outcome);
            }
        };
        if target == source {
            tx.commit().await?;
            return Ok(LinkOutcome::SameAccount);
        }
        let (source_data,): (i64,) = sql(OWNS_DATA).bind(source).fetch_one(&mut tx).await?;
        let (target_data,): (i64,) = sql(OWNS_DATA).bind(target).fetch_one(&mut tx).await?;
        if source_data > 0 && target_data > 0 {
            tx.commit().await?;
            return Ok(LinkOutcome::BothOwnData);
        }
        // The account that owns something is the one kept: its sealed exchange keys are
        // bound to its id and would not open under another. (Both own something: refused
        // above.) The other account's identities join it, and it is deleted.
        let (keep, gone) = if source_data > 0 {
            (source, target)
        } else {
            (target, source)
        };
        let (keep_role,): (String,) = sql("SELECT role FROM users WHERE id = $1")
            .bind(keep)
            .fetch_one(&mut tx)
            .await?;
        let (gone_role,): (String,) = sql("SELECT role FROM users WHERE id = $1")
            .bind(gone)
            .fetch_one(&mut tx)
            .await?;
        let role = merged_role(role_of(&keep_role), role_of(&gone_role));
        sql("UPDATE users SET role = $1 WHERE id = $2")
            .bind(role.as_str())
            .bind(keep)
            .execute(&mut tx)
            .await?;
        sql("UPDATE user_identities SET user_id = $1 WHERE user_id = $2")
            .bind(keep)
            .bind(gone)
            .execute(&mut tx)
            .await?;
        sql("UPDATE reports SET user_id = $1 WHERE user_id = $2")
            .bind(keep)
            .bind(gone)
            .execute(&mut tx)
            .await?;
        for stmt in [
            "DELETE FROM link_codes WHERE user_id = $1",
            "DELETE FROM approval_messages WHERE user_id = $1",
            "DELETE FROM users WHERE id = $1",
        ] {
            sql(stmt).bind(gone).execute(&mut tx).await?;
        }
        sql("DELETE FROM link_attempts WHERE platform = $1 AND platform_user_id = $2")
            .bind(platform)
            .bind(platform_user_id)
            .execute(&mut tx)
            .await?;
        tx.commit().await?;
        Ok(LinkOutcome::Linked { account: keep })
    }

    async fn unlink_identity(
        &self,
        platform: &str,
        platform_user_id: &str,
        new_role: StoredRole,
        now: DateTime<Utc>,
    ) -> Result<UnlinkOutcome, StoreError> {
        let mut tx = self.begin_write().await?;
        let found: Option<(i64, String)> = sql("SELECT u.id, u.role FROM user_identities i \
             JOIN users u ON u.id = i.user_id WHERE i.platform = $1 AND i.platform_user_id = $2")
        .bind(platform)
        .bind(platform_user_id)
        .fetch_optional(&mut tx)
        .await?;
        let Some((account, role)) = found else {
            return Ok(UnlinkOutcome::Unknown);
        };
        let (count,): (i64,) = sql("SELECT CAST(COUNT(*) AS BIGINT) FROM user_identities WHERE user_id = $1")
            .bind(account)
            .fetch_one(&mut tx)
            .await?;
        if count <= 1 {
            return Ok(UnlinkOutcome::LastIdentity);
        }
        let role = [role_of(&role), new_role, StoredRole::Trader]
            .into_iter()
            .min_by_key(|r| r.rank())
            .unwrap_or(StoredRole::Pending);
        let (new_id,): (i64,) = sql("INSERT INTO users (created_at, role) VALUES ($1, $2) RETURNING id")
            .bind(now)
            .bind(role.as_str())
            .fetch_one(&mut tx)
            .await?;
        sql("UPDATE user_identities SET user_id = $1 WHERE platform = $2 AND platform_user_id = $3")
            .bind(new_id)
            .bind(platform)
            .bind(platform_user_id)
            .execute(&mut tx)
            .await?;
        tx.commit().await?;
        Ok(UnlinkOutcome::Unlinked { account: new_id })
    }

    async fn save_approval_message(
        &self,
        account: i64,
        platform: &str,
        platform_chat_id: &str,
        message_id: &str,
    ) -> Result<(), StoreError> {
        sql(
            "INSERT INTO approval_messages (user_id, platform, platform_chat_id, message_id, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id, platform, platform_chat_id) \
             DO UPDATE SET message_id = $4",
        )
        .bind(account)
        .bind(platform)
        .bind(platform_chat_id)
        .bind(message_id)
        .bind(Utc::now())
        .write(self)
        .await?;
        Ok(())
    }

    async fn claim_approval_message(
        &self,
        account: i64,
        platform: &str,
        platform_chat_id: &str,
    ) -> Result<bool, StoreError> {
        // An empty message id marks the claim until the message is sent.
        let n = sql(
            "INSERT INTO approval_messages (user_id, platform, platform_chat_id, message_id, created_at) \
             VALUES ($1, $2, $3, '', $4) ON CONFLICT (user_id, platform, platform_chat_id) DO NOTHING",
        )
        .bind(account)
        .bind(platform)
        .bind(platform_chat_id)
        .bind(Utc::now())
        .write(self)
        .await?;
        Ok(n == 1)
    }

    async fn approval_messages(&self, account: i64) -> Result<Vec<(String, String, String)>, StoreError> {
        Ok(sql(
            "SELECT platform, platform_chat_id, message_id FROM approval_messages \
             WHERE user_id = $1 AND message_id <> '' ORDER BY platform, platform_chat_id",
        )
        .bind(account)
        .read_all(self)
        .await?)
    }
}

/// Rows an account owns that linking would merge: AI usage, exchange keys, positions and
/// orders. An account with none is "empty".
const OWNS_DATA: &str = "SELECT CAST((SELECT COUNT(*) FROM ai_calls a JOIN user_identities i \
     ON i.platform = a.platform AND i.platform_user_id = a.platform_user_id WHERE i.user_id = $1) \
     + (SELECT COUNT(*) FROM exchange_keys k WHERE k.user_id = $1) \
     + (SELECT COUNT(*) FROM positions p WHERE p.user_id = $1) \
     + (SELECT COUNT(*) FROM orders o WHERE o.user_id = $1) AS BIGINT)";
