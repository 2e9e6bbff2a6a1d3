//! The SQL both backends run, written once. SQLite and PostgreSQL both accept `$N`
//! parameters, `RETURNING` and `ON CONFLICT … DO NOTHING`, so each backend module
//! only supplies its pool, its migrations and its connection settings.

/// Implements [`Storage`](super::Storage) for a struct with a `pool` field of a sqlx
/// pool type for reads, a `writer` pool for writes and a `begin_write` method that opens
/// a write transaction; `$migrator` is that backend's embedded migrations, `backup` names the
/// backend's own backup method.
macro_rules! impl_storage {
    ($store:ty, $backend:expr, $migrator:expr, backup = $backup:ident) => {
        #[async_trait::async_trait]
        impl Storage for $store {
            fn backend(&self) -> Backend {
                $backend
            }

            async fn migrate(&self) -> Result<(), StoreError> {
                $migrator
                    .run(&self.writer)
                    .await
                    .map_err(StoreError::migration)?;
                Ok(())
            }

            async fn ping(&self) -> Result<(), StoreError> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }

            async fn close(&self) {
                self.pool.close().await;
                self.writer.close().await;
            }

            async fn backup(&self, path: &std::path::Path) -> Result<(), StoreError> {
                self.$backup(path).await
            }

            async fn save_report(
                &self,
                report: &Report,
                origin: &ReportOrigin,
            ) -> Result<i64, StoreError> {
                let mut tx = self.begin_write().await?;
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO reports (generated_at, source, origin, platform_chat_id, user_id) \
                     VALUES ($1, $2, $3, $4, $5) RETURNING id",
                )
                .bind(report.generated_at)
                .bind(report.source.as_str())
                .bind(&origin.origin)
                .bind(&origin.platform_chat_id)
                .bind(origin.user_id)
                .fetch_one(&mut *tx)
                .await?;
                for (position, row) in report.rows.iter().enumerate() {
                    sqlx::query(
                        "INSERT INTO report_rows (report_id, position, symbol, close, change_24h_pct, \
                         change_3d_pct, change_7d_pct, atr_3d_pct, atr_7d_pct) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    )
                    .bind(id)
                    .bind(position as i32)
                    .bind(row.symbol.as_str())
                    .bind(row.close)
                    .bind(row.change_24h_pct)
                    .bind(row.change_3d_pct)
                    .bind(row.change_7d_pct)
                    .bind(row.atr_3d_pct)
                    .bind(row.atr_7d_pct)
                    .execute(&mut *tx)
                    .await?;
                }
                for (position, failure) in report.errors.iter().enumerate() {
                    sqlx::query(
                        "INSERT INTO report_errors (report_id, position, symbol, error_code) \
                         VALUES ($1, $2, $3, $4)",
                    )
                    .bind(id)
                    .bind(position as i32)
                    .bind(&failure.symbol)
                    .bind(failure.error.code())
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(id)
            }

            async fn report(&self, id: i64) -> Result<Option<StoredReport>, StoreError> {
                let header: Option<(DateTime<Utc>, String, String)> = sqlx::query_as(
                    "SELECT generated_at, source, origin FROM reports WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
                let Some((generated_at, source, origin)) = header else {
                    return Ok(None);
                };
                let rows: Vec<HistoryRow> = sqlx::query_as(concat!(
                    "SELECT r.id AS report_id, r.generated_at, r.source, w.symbol, w.close, ",
                    "w.change_24h_pct, w.change_3d_pct, w.change_7d_pct, w.atr_3d_pct, w.atr_7d_pct ",
                    "FROM reports r JOIN report_rows w ON w.report_id = r.id ",
                    "WHERE r.id = $1 ORDER BY w.position"
                ))
                .bind(id)
                .fetch_all(&self.pool)
                .await?;
                let errors: Vec<(String, String)> = sqlx::query_as(
                    "SELECT symbol, error_code FROM report_errors WHERE report_id = $1 ORDER BY position",
                )
                .bind(id)
                .fetch_all(&self.pool)
                .await?;
                Ok(Some(StoredReport { id, generated_at, source, origin, rows, errors }))
            }

            async fn report_history(
                &self,
                since: Option<DateTime<Utc>>,
            ) -> Result<Vec<HistoryRow>, StoreError> {
                let since = since.unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
                Ok(sqlx::query_as(concat!(
                    "SELECT r.id AS report_id, r.generated_at, r.source, w.symbol, w.close, ",
                    "w.change_24h_pct, w.change_3d_pct, w.change_7d_pct, w.atr_3d_pct, w.atr_7d_pct ",
                    "FROM reports r JOIN report_rows w ON w.report_id = r.id ",
                    "WHERE r.generated_at >= $1 ORDER BY r.generated_at, r.id, w.position"
                ))
                .bind(since)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn ensure_user(&self, identity: &Identity) -> Result<i64, StoreError> {
                let now = Utc::now();
                let mut tx = self.begin_write().await?;
                let found: Option<(i64,)> = sqlx::query_as(
                    "SELECT user_id FROM user_identities WHERE platform = $1 AND platform_user_id = $2",
                )
                .bind(&identity.platform)
                .bind(&identity.platform_user_id)
                .fetch_optional(&mut *tx)
                .await?;
                let user_id = match found {
                    Some((user_id,)) => {
                        sqlx::query(
                            "UPDATE user_identities SET last_seen_at = $1, \
                             display_name = COALESCE($2, display_name) \
                             WHERE platform = $3 AND platform_user_id = $4",
                        )
                        .bind(now)
                        .bind(&identity.display_name)
                        .bind(&identity.platform)
                        .bind(&identity.platform_user_id)
                        .execute(&mut *tx)
                        .await?;
                        user_id
                    }
                    None => {
                        let (new_id,): (i64,) =
                            sqlx::query_as("INSERT INTO users (created_at) VALUES ($1) RETURNING id")
                                .bind(now)
                                .fetch_one(&mut *tx)
                                .await?;
                        let inserted = sqlx::query(
                            "INSERT INTO user_identities (user_id, platform, platform_user_id, \
                             display_name, created_at, last_seen_at) VALUES ($1, $2, $3, $4, $5, $6) \
                             ON CONFLICT (platform, platform_user_id) DO NOTHING",
                        )
                        .bind(new_id)
                        .bind(&identity.platform)
                        .bind(&identity.platform_user_id)
                        .bind(&identity.display_name)
                        .bind(now)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                        if inserted.rows_affected() == 0 {
                            // Another connection created this identity meanwhile
                            // (PostgreSQL): drop our user row, answer with theirs.
                            tx.rollback().await?;
                            let (user_id,): (i64,) = sqlx::query_as(
                                "SELECT user_id FROM user_identities \
                                 WHERE platform = $1 AND platform_user_id = $2",
                            )
                            .bind(&identity.platform)
                            .bind(&identity.platform_user_id)
                            .fetch_one(&self.writer)
                            .await?;
                            return Ok(user_id);
                        }
                        new_id
                    }
                };
                tx.commit().await?;
                Ok(user_id)
            }

            async fn ensure_chat(
                &self,
                chat: &ChatKey,
                default_locale: &str,
            ) -> Result<ChatRecord, StoreError> {
                const SELECT: &str = "SELECT id, platform, platform_chat_id, locale, active \
                                      FROM chats WHERE platform = $1 AND platform_chat_id = $2";
                let existing: Option<ChatRecord> = sqlx::query_as(SELECT)
                    .bind(&chat.platform)
                    .bind(&chat.platform_chat_id)
                    .fetch_optional(&self.pool)
                    .await?;
                if let Some(record) = existing {
                    return Ok(record);
                }
                let now = Utc::now();
                sqlx::query(
                    "INSERT INTO chats (platform, platform_chat_id, locale, active, created_at, updated_at) \
                     VALUES ($1, $2, $3, TRUE, $4, $5) ON CONFLICT (platform, platform_chat_id) DO NOTHING",
                )
                .bind(&chat.platform)
                .bind(&chat.platform_chat_id)
                .bind(default_locale)
                .bind(now)
                .bind(now)
                .execute(&self.writer)
                .await?;
                Ok(sqlx::query_as(SELECT)
                    .bind(&chat.platform)
                    .bind(&chat.platform_chat_id)
                    .fetch_one(&self.writer)
                    .await?)
            }

            async fn set_chat_locale(&self, chat: &ChatKey, locale: &str) -> Result<(), StoreError> {
                self.ensure_chat(chat, locale).await?;
                sqlx::query(
                    "UPDATE chats SET locale = $1, updated_at = $2 \
                     WHERE platform = $3 AND platform_chat_id = $4",
                )
                .bind(locale)
                .bind(Utc::now())
                .bind(&chat.platform)
                .bind(&chat.platform_chat_id)
                .execute(&self.writer)
                .await?;
                Ok(())
            }

            async fn set_chat_active(&self, chat: &ChatKey, active: bool) -> Result<(), StoreError> {
                sqlx::query(
                    "UPDATE chats SET active = $1, updated_at = $2 \
                     WHERE platform = $3 AND platform_chat_id = $4",
                )
                .bind(active)
                .bind(Utc::now())
                .bind(&chat.platform)
                .bind(&chat.platform_chat_id)
                .execute(&self.writer)
                .await?;
                Ok(())
            }

            async fn record_ai_call(&self, c: &AiCall) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO ai_calls (at, platform, platform_user_id, model, prompt_tokens, \
                     completion_tokens, latency_ms, outcome) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(c.at)
                .bind(&c.platform)
                .bind(&c.platform_user_id)
                .bind(&c.model)
                .bind(c.prompt_tokens)
                .bind(c.completion_tokens)
                .bind(c.latency_ms)
                .bind(&c.outcome)
                .execute(&self.writer)
                .await?;
                Ok(())
            }

            async fn ai_tokens_since(
                &self,
                since: DateTime<Utc>,
                user: Option<(&str, &str)>,
            ) -> Result<i64, StoreError> {
                let (sum,): (Option<i64>,) = match user {
                    Some((platform, id)) => {
                        sqlx::query_as(
                            "SELECT CAST(SUM(prompt_tokens + completion_tokens) AS BIGINT) FROM ai_calls \
                             WHERE at >= $1 AND platform = $2 AND platform_user_id = $3",
                        )
                        .bind(since)
                        .bind(platform)
                        .bind(id)
                        .fetch_one(&self.pool)
                        .await?
                    }
                    None => {
                        sqlx::query_as(
                            "SELECT CAST(SUM(prompt_tokens + completion_tokens) AS BIGINT) FROM ai_calls \
                             WHERE at >= $1",
                        )
                        .bind(since)
                        .fetch_one(&self.pool)
                        .await?
                    }
                };
                Ok(sum.unwrap_or(0))
            }

            async fn last_ai_call(
                &self,
                platform: &str,
                platform_user_id: &str,
            ) -> Result<Option<DateTime<Utc>>, StoreError> {
                let row: Option<(DateTime<Utc>,)> = sqlx::query_as(
                    "SELECT at FROM ai_calls WHERE platform = $1 AND platform_user_id = $2 \
                     AND outcome = 'ok' ORDER BY at DESC LIMIT 1",
                )
                .bind(platform)
                .bind(platform_user_id)
                .fetch_optional(&self.pool)
                .await?;
                Ok(row.map(|(at,)| at))
            }

            async fn cached_summary(&self, key: &str) -> Result<Option<String>, StoreError> {
                let row: Option<(String,)> = sqlx::query_as("SELECT text FROM ai_summaries WHERE cache_key = $1")
                    .bind(key)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.map(|(t,)| t))
            }

            async fn save_summary(
                &self,
                key: &str,
                locale: &str,
                model: &str,
                text: &str,
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO ai_summaries (cache_key, locale, model, created_at, text) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (cache_key) DO NOTHING",
                )
                .bind(key)
                .bind(locale)
                .bind(model)
                .bind(Utc::now())
                .bind(text)
                .execute(&self.writer)
                .await?;
                Ok(())
            }

            async fn add_schedule(&self, s: &StoredSchedule, created_by: &str) -> Result<bool, StoreError> {
                let r = sqlx::query(
                    "INSERT INTO schedules (name, cron, timezone, kind, symbols, created_by, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (name) DO NOTHING",
                )
                .bind(&s.name)
                .bind(&s.cron)
                .bind(&s.timezone)
                .bind(&s.kind)
                .bind(&s.symbols)
                .bind(created_by)
                .bind(Utc::now())
                .execute(&self.writer)
                .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn remove_schedule(&self, name: &str) -> Result<bool, StoreError> {
                let r = sqlx::query("DELETE FROM schedules WHERE name = $1").bind(name).execute(&self.writer).await?;
                Ok(r.rows_affected() > 0)
            }

            async fn schedules(&self) -> Result<Vec<StoredSchedule>, StoreError> {
                Ok(sqlx::query_as("SELECT name, cron, timezone, kind, symbols FROM schedules ORDER BY name")
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn subscribe(&self, chat: &ChatKey, kind: &str) -> Result<bool, StoreError> {
                let r = sqlx::query(
                    "INSERT INTO subscriptions (platform, platform_chat_id, kind, created_at, failures, disabled) \
                     VALUES ($1, $2, $3, $4, 0, FALSE) ON CONFLICT (platform, platform_chat_id, kind) DO NOTHING",
                )
                .bind(&chat.platform)
                .bind(&chat.platform_chat_id)
                .bind(kind)
                .bind(Utc::now())
                .execute(&self.writer)
                .await?;
                if r.rows_affected() == 0 {
                    let again = sqlx::query(
                        "UPDATE subscriptions SET disabled = FALSE, failures = 0 \
                         WHERE platform = $1 AND platform_chat_id = $2 AND kind = $3 AND disabled",
                    )
                    .bind(&chat.platform)
                    .bind(&chat.platform_chat_id)
                    .bind(kind)
                    .execute(&self.writer)
                    .await?;
                    return Ok(again.rows_affected() == 1);
                }
                Ok(true)
            }

            async fn unsubscribe(&self, chat: &ChatKey, kind: Option<&str>) -> Result<u64, StoreError> {
                let r = match kind {
                    Some(kind) => {
                        sqlx::query(
                            "DELETE FROM subscriptions WHERE platform = $1 AND platform_chat_id = $2 AND kind = $3",
                        )
                        .bind(&chat.platform)
                        .bind(&chat.platform_chat_id)
                        .bind(kind)
                        .execute(&self.writer)
                        .await?
                    }
                    None => {
                        sqlx::query("DELETE FROM subscriptions WHERE platform = $1 AND platform_chat_id = $2")
                            .bind(&chat.platform)
                            .bind(&chat.platform_chat_id)
                            .execute(&self.writer)
                            .await?
                    }
                };
                Ok(r.rows_affected())
            }

            async fn subscribers(&self, kind: &str) -> Result<Vec<Subscription>, StoreError> {
                Ok(sqlx::query_as(
                    "SELECT platform, platform_chat_id, kind FROM subscriptions \
                     WHERE kind = $1 AND NOT disabled ORDER BY platform, platform_chat_id",
                )
                .bind(kind)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn target_failed(&self, t: &Subscription) -> Result<i64, StoreError> {
                let (n,): (i64,) = sqlx::query_as(
                    "UPDATE subscriptions SET failures = failures + 1 \
                     WHERE platform = $1 AND platform_chat_id = $2 AND kind = $3 RETURNING CAST(failures AS BIGINT)",
                )
                .bind(&t.platform)
                .bind(&t.platform_chat_id)
                .bind(&t.kind)
                .fetch_optional(&self.writer)
                .await?
                .unwrap_or((0,));
                Ok(n)
            }

            async fn target_succeeded(&self, t: &Subscription) -> Result<(), StoreError> {
                sqlx::query(
                    "UPDATE subscriptions SET failures = 0 \
                     WHERE platform = $1 AND platform_chat_id = $2 AND kind = $3 AND failures > 0",
                )
                .bind(&t.platform)
                .bind(&t.platform_chat_id)
                .bind(&t.kind)
                .execute(&self.writer)
                .await?;
                Ok(())
            }

            async fn disable_target(&self, t: &Subscription) -> Result<(), StoreError> {
                sqlx::query(
                    "UPDATE subscriptions SET disabled = TRUE \
                     WHERE platform = $1 AND platform_chat_id = $2 AND kind = $3",
                )
                .bind(&t.platform)
                .bind(&t.platform_chat_id)
                .bind(&t.kind)
                .execute(&self.writer)
                .await?;
                Ok(())
            }

            async fn claim_run(
                &self,
                schedule: &str,
                slot: DateTime<Utc>,
                owner: &str,
                now: DateTime<Utc>,
                lease_until: DateTime<Utc>,
            ) -> Result<bool, StoreError> {
                let r = sqlx::query(
                    "INSERT INTO schedule_runs (schedule, slot, owner, lease_until, status) \
                     VALUES ($1, $2, $3, $4, 'running') ON CONFLICT (schedule, slot) DO NOTHING",
                )
                .bind(schedule)
                .bind(slot)
                .bind(owner)
                .bind(lease_until)
                .execute(&self.writer)
                .await?;
                if r.rows_affected() == 1 {
                    return Ok(true);
                }
                let r = sqlx::query(
                    "UPDATE schedule_runs SET owner = $1, lease_until = $2 \
                     WHERE schedule = $3 AND slot = $4 AND status = 'running' AND lease_until < $5",
                )
                .bind(owner)
                .bind(lease_until)
                .bind(schedule)
                .bind(slot)
                .bind(now)
                .execute(&self.writer)
                .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn finish_run(&self, schedule: &str, slot: DateTime<Utc>) -> Result<(), StoreError> {
                sqlx::query("UPDATE schedule_runs SET status = 'done' WHERE schedule = $1 AND slot = $2")
                    .bind(schedule)
                    .bind(slot)
                    .execute(&self.writer)
                    .await?;
                Ok(())
            }

            async fn run_exists(&self, schedule: &str, slot: DateTime<Utc>) -> Result<bool, StoreError> {
                let row: Option<(String,)> =
                    sqlx::query_as("SELECT status FROM schedule_runs WHERE schedule = $1 AND slot = $2")
                        .bind(schedule)
                        .bind(slot)
                        .fetch_optional(&self.pool)
                        .await?;
                Ok(row.is_some())
            }

            async fn stalled_runs(
                &self,
                since: DateTime<Utc>,
                now: DateTime<Utc>,
            ) -> Result<Vec<(String, DateTime<Utc>)>, StoreError> {
                Ok(sqlx::query_as(
                    "SELECT schedule, slot FROM schedule_runs \
                     WHERE status = 'running' AND lease_until < $1 AND slot >= $2 ORDER BY slot",
                )
                .bind(now)
                .bind(since)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn claim_delivery(
                &self,
                schedule: &str,
                slot: DateTime<Utc>,
                target: &str,
                now: DateTime<Utc>,
            ) -> Result<bool, StoreError> {
                let r = sqlx::query(
                    "INSERT INTO deliveries (schedule, slot, target, status, at) VALUES ($1, $2, $3, 'sending', $4) \
                     ON CONFLICT (schedule, slot, target) DO NOTHING",
                )
                .bind(schedule)
                .bind(slot)
                .bind(target)
                .bind(now)
                .execute(&self.writer)
                .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn finish_delivery(
                &self,
                schedule: &str,
                slot: DateTime<Utc>,
                target: &str,
                status: &str,
            ) -> Result<(), StoreError> {
                sqlx::query("UPDATE deliveries SET status = $1 WHERE schedule = $2 AND slot = $3 AND target = $4")
                    .bind(status)
                    .bind(schedule)
                    .bind(slot)
                    .bind(target)
                    .execute(&self.writer)
                    .await?;
                Ok(())
            }

            async fn deliveries(
                &self,
                schedule: &str,
                slot: DateTime<Utc>,
            ) -> Result<Vec<(String, String)>, StoreError> {
                Ok(sqlx::query_as(
                    "SELECT target, status FROM deliveries WHERE schedule = $1 AND slot = $2 ORDER BY target",
                )
                .bind(schedule)
                .bind(slot)
                .fetch_all(&self.pool)
                .await?)
            }

            async fn claim_alert(
                &self,
                symbol: &str,
                direction: &str,
                now: DateTime<Utc>,
                not_since: DateTime<Utc>,
            ) -> Result<bool, StoreError> {
                let r = sqlx::query(
                    "INSERT INTO alert_marks (symbol, direction, last_sent_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (symbol, direction) DO NOTHING",
                )
                .bind(symbol)
                .bind(direction)
                .bind(now)
                .execute(&self.writer)
                .await?;
                if r.rows_affected() == 1 {
                    return Ok(true);
                }
                let r = sqlx::query(
                    "UPDATE alert_marks SET last_sent_at = $1 \
                     WHERE symbol = $2 AND direction = $3 AND last_sent_at < $4",
                )
                .bind(now)
                .bind(symbol)
                .bind(direction)
                .bind(not_since)
                .execute(&self.writer)
                .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn release_alert(
                &self,
                symbol: &str,
                direction: &str,
                claimed_at: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                // The mark replaced by the claim was past its cooldown: no mark is the same.
                sqlx::query(
                    "DELETE FROM alert_marks WHERE symbol = $1 AND direction = $2 AND last_sent_at = $3",
                )
                .bind(symbol)
                .bind(direction)
                .bind(claimed_at)
                .execute(&self.writer)
                .await?;
                Ok(())
            }

            async fn create_action(&self, a: &NewAction) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO pending_actions (token, platform, platform_chat_id, allowed_user, command, \
                     args, reusable, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(&a.token)
                .bind(&a.platform)
                .bind(&a.platform_chat_id)
                .bind(&a.allowed_user)
                .bind(&a.command)
                .bind(&a.args)
                .bind(a.reusable)
                .bind(a.created_at)
                .bind(a.expires_at)
                .execute(&self.writer)
                .await?;
                Ok(())
            }

            async fn action(&self, token: &str) -> Result<Option<ActionRecord>, StoreError> {
                Ok(sqlx::query_as(
                    "SELECT token, platform, platform_chat_id, allowed_user, command, args, reusable, \
                     created_at, expires_at, claimed_at, claimed_by FROM pending_actions WHERE token = $1",
                )
                .bind(token)
                .fetch_optional(&self.pool)
                .await?)
            }

            async fn claim_action(
                &self,
                token: &str,
                user: &str,
                now: DateTime<Utc>,
                claimed_by: &str,
            ) -> Result<Option<ActionRecord>, StoreError> {
                Ok(sqlx::query_as(
                    "UPDATE pending_actions SET claimed_at = $1, claimed_by = $2 \
                     WHERE token = $3 AND NOT reusable AND claimed_at IS NULL AND expires_at > $1 \
                     AND (allowed_user IS NULL OR allowed_user = $4) \
                     RETURNING token, platform, platform_chat_id, allowed_user, command, args, reusable, \
                     created_at, expires_at, claimed_at, claimed_by",
                )
                .bind(now)
                .bind(claimed_by)
                .bind(token)
                .bind(user)
                .fetch_optional(&self.writer)
                .await?)
            }

            async fn claim_request(
                &self,
                platform: &str,
                request_id: &str,
                now: DateTime<Utc>,
            ) -> Result<bool, StoreError> {
                let r = sqlx::query(
                    "INSERT INTO handled_requests (platform, request_id, at) VALUES ($1, $2, $3) \
                     ON CONFLICT (platform, request_id) DO NOTHING",
                )
                .bind(platform)
                .bind(request_id)
                .bind(now)
                .execute(&self.writer)
                .await?;
                Ok(r.rows_affected() == 1)
            }

            async fn prune_commands_state(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
                let mut tx = self.begin_write().await?;
                let a = sqlx::query("DELETE FROM pending_actions WHERE expires_at < $1")
                    .bind(before)
                    .execute(&mut *tx)
                    .await?;
                let r = sqlx::query("DELETE FROM handled_requests WHERE at < $1")
                    .bind(before)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(a.rows_affected() + r.rows_affected())
            }

            async fn record_audit(&self, e: &AuditEntry) -> Result<i64, StoreError> {
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO audit_log (at, platform, platform_user_id, platform_chat_id, command, \
                     args, outcome, detail, duration_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                     RETURNING id",
                )
                .bind(e.at)
                .bind(&e.platform)
                .bind(&e.platform_user_id)
                .bind(&e.platform_chat_id)
                .bind(&e.command)
                .bind(&e.args)
                .bind(e.outcome.as_str())
                .bind(&e.detail)
                .bind(e.duration_ms)
                .fetch_one(&self.writer)
                .await?;
                Ok(id)
            }

            async fn recent_audit(&self, limit: i64) -> Result<Vec<AuditRecord>, StoreError> {
                Ok(sqlx::query_as(
                    "SELECT id, at, platform, platform_user_id, platform_chat_id, command, args, \
                     outcome, detail, duration_ms FROM audit_log ORDER BY id DESC LIMIT $1",
                )
                .bind(limit)
                .fetch_all(&self.pool)
                .await?)
            }
        }
    };
}
