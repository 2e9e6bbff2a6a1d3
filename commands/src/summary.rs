//! Market summaries: an OpenAI-compatible model asked in the chat's language, with a
//! per-user cooldown, daily token budgets and answers kept per (report, language,
//! model); a deterministic rule-based summary, clearly labelled, when there is no key
//! or the model cannot answer.

use crate::format;
use crate::i18n::{I18n, Locale};
use crate::reply::{Block, Reply, Tone};
use crate::{CommandError, Services};
use chainsignal_core::ai::AiError;
use chainsignal_core::market::Source;
use chainsignal_core::report::Report;
use chainsignal_core::store::{AiCall, Outcome};
use chrono::{Duration, Utc};

/// Limits on what summaries may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AiLimits {
    pub cooldown: Duration,
    pub user_daily_tokens: i64,
    pub total_daily_tokens: i64,
    pub max_answer_chars: usize,
}

/// Who asks: cooldown and the per-user budget apply to them. The CLI asks as nobody.
#[derive(Debug, Clone, Copy)]
pub struct Asker<'a> {
    pub platform: &'a str,
    pub user_id: &'a str,
}

/// What kind of text a summary is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Ai,
    /// The model's earlier answer for the same numbers and language.
    AiCached,
    /// Rule-based: no key configured.
    RulesNoKey,
    /// Rule-based because the model failed; the code says why.
    RulesAfter(&'static str),
}

impl Kind {
    /// The stable code kept in the audit log's `detail`: `ai`, `ai_cached`, `rules_no_key`,
    /// or `rules_after:<error code>` (e.g. `rules_after:unavailable`).
    pub fn code(self) -> String {
        match self {
            Kind::Ai => "ai".into(),
            Kind::AiCached => "ai_cached".into(),
            Kind::RulesNoKey => "rules_no_key".into(),
            Kind::RulesAfter(code) => format!("rules_after:{code}"),
        }
    }
}

pub struct Summary {
    pub kind: Kind,
    pub reply: Reply,
    pub outcome: Outcome,
}

/// The summary of `report` in `locale`. Refusals (cooldown, budgets) are user errors;
/// everything else ends in a summary.
pub async fn summarize(
    services: &Services,
    report: &Report,
    locale: Locale,
    asker: Option<Asker<'_>>,
) -> Result<Summary, CommandError> {
    let i18n = &services.i18n;
    let Some(ai) = &services.ai else {
        return Ok(rules_summary(report, locale, i18n, Kind::RulesNoKey));
    };
    let key = format!("{}:{}:{}", report.fingerprint(), locale.code(), ai.model());
    match services.store.cached_summary(&key).await {
        Ok(Some(text)) => {
            return Ok(ai_summary(
                report,
                locale,
                i18n,
                &text,
                ai.model(),
                Kind::AiCached,
            ));
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(error = %e, "summary cache unavailable"),
    }
    check_limits(services, asker).await?;

    let (system, user) = prompt(report, locale, i18n);
    let result = ai.complete(&system, &user).await;
    let (tokens, latency, outcome) = match &result {
        Ok(c) => ((c.prompt_tokens, c.completion_tokens), c.latency, "ok"),
        Err(e) => ((0, 0), std::time::Duration::ZERO, e.code()),
    };
    let call = AiCall {
        at: Utc::now(),
        platform: asker.map(|a| a.platform).unwrap_or("cli").into(),
        platform_user_id: asker.map(|a| a.user_id).unwrap_or("cli").into(),
        model: ai.model().into(),
        prompt_tokens: tokens.0,
        completion_tokens: tokens.1,
        latency_ms: latency.as_millis() as i64,
        outcome: outcome.into(),
    };
    metrics::counter!("chainsignal_ai_tokens_total", "kind" => "prompt").increment(tokens.0.max(0) as u64);
    metrics::counter!("chainsignal_ai_tokens_total", "kind" => "completion")
        .increment(tokens.1.max(0) as u64);
    if let Err(e) = services.store.record_ai_call(&call).await {
        tracing::error!(error = %e, "could not record an AI call");
    }
    match result {
        Ok(completion) => {
            let text = cap(&completion.text, services.ai_limits.max_answer_chars);
            if let Err(e) = services
                .store
                .save_summary(&key, locale.code(), ai.model(), &text)
                .await
            {
                tracing::warn!(error = %e, "could not keep a summary");
            }
            Ok(ai_summary(report, locale, i18n, &text, ai.model(), Kind::Ai))
        }
        Err(e) => {
            if e == AiError::Unauthorized {
                tracing::error!(
                    "configuration error: the AI provider refused the API key (AI_API_KEY / GROQ_API_KEY); \
                     /summary falls back to rule-based summaries until it is fixed"
                );
            } else {
                tracing::warn!(error = %e, "AI summary failed; answering with the rule-based summary");
            }
            let mut summary = rules_summary(report, locale, i18n, Kind::RulesAfter(e.code()));
            summary.outcome = Outcome::Failed;
            Ok(summary)
        }
    }
}

async fn check_limits(services: &Services, asker: Option<Asker<'_>>) -> Result<(), CommandError> {
    let limits = services.ai_limits;
    let store = &services.store;
    let now = Utc::now();
    if let Some(a) = asker
        && let Ok(Some(last)) = store.last_ai_call(a.platform, a.user_id).await
        && now - last < limits.cooldown
    {
        let wait = (limits.cooldown - (now - last)).num_seconds().max(1);
        return Err(CommandError::user_with(
            "summary-cooldown",
            vec![("seconds", wait.to_string())],
        ));
    }
    let day_start = now
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_utc();
    if let Some(a) = asker {
        let used = store
            .ai_tokens_since(day_start, Some((a.platform, a.user_id)))
            .await?;
        if used >= limits.user_daily_tokens {
            return Err(CommandError::user("summary-budget-user"));
        }
    }
    if store.ai_tokens_since(day_start, None).await? >= limits.total_daily_tokens {
        return Err(CommandError::user("summary-budget-total"));
    }
    Ok(())
}

/// Cut to `max` characters at a word boundary when one is near.
fn cap(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max.saturating_sub(1)).collect();
    let cut = match cut.rfind(char::is_whitespace) {
        Some(i) if i > max / 2 => &cut[..i],
        _ => cut.as_str(),
    };
    format!("{}…", cut.trim_end())
}

/// The system and user messages: instructions in the chat's language, then only
/// validated symbols and numbers (never free text from users).
pub fn prompt(report: &Report, locale: Locale, i18n: &I18n) -> (String, String) {
    let table: Vec<String> = report
        .rows
        .iter()
        .map(|r| {
            format!(
                "{} close={} 24h={:+.2}% 3d={:+.2}% 7d={:+.2}% atr3d={:.2}% atr7d={:.2}%",
                r.symbol,
                r.close,
                r.change_24h_pct,
                r.change_3d_pct,
                r.change_7d_pct,
                r.atr_3d_pct,
                r.atr_7d_pct
            )
        })
        .collect();
    let source = if report.source == Source::Demo {
        "demo (synthetic)"
    } else {
        "Binance"
    };
    let system = i18n.t(locale, "ai-system-prompt");
    let time = format::utc_minute(report.generated_at);
    let user = i18n.tr(
        locale,
        "ai-user-prompt",
        &[("time", &time), ("source", source), ("table", &table.join("\n"))],
    );
    (system, user)
}

fn footer(report: &Report, locale: Locale, i18n: &I18n, extra: Option<String>) -> Block {
    let source = i18n.t(
        locale,
        if report.source == Source::Demo {
            "report-source-demo"
        } else {
            "report-source-binance"
        },
    );
    let time = format::utc_minute(report.generated_at);
    let mut parts = vec![
        i18n.t(locale, "summary-nfa"),
        i18n.tr(locale, "report-footer", &[("source", &source), ("time", &time)]),
    ];
    parts.extend(extra);
    Block::Footer(parts.join(" · "))
}

fn ai_summary(report: &Report, locale: Locale, i18n: &I18n, text: &str, model: &str, kind: Kind) -> Summary {
    let model_note = i18n.tr(locale, "summary-model", &[("model", model)]);
    let reply = Reply::default()
        .block(Block::Title(i18n.t(locale, "summary-title-ai")))
        .block(Block::Paragraph(text.to_string()))
        .block(footer(report, locale, i18n, Some(model_note)));
    Summary {
        kind,
        reply,
        outcome: Outcome::Ok,
    }
}

/// The rule-based summary: trend from the average 24h and 7D changes, volatility from
/// the average ATR 7D, the strongest and weakest movers, moves beyond the usual range.
pub fn rules_summary(report: &Report, locale: Locale, i18n: &I18n, kind: Kind) -> Summary {
    let rows = &report.rows;
    let n = rows.len().max(1) as f64;
    let avg = |f: fn(&chainsignal_core::ReportRow) -> f64| rows.iter().map(f).sum::<f64>() / n;
    let (day, week, atr) = (
        avg(|r| r.change_24h_pct),
        avg(|r| r.change_7d_pct),
        avg(|r| r.atr_7d_pct),
    );
    let trend_key = if day > 0.5 && week > 0.0 {
        "summary-trend-up"
    } else if day < -0.5 && week < 0.0 {
        "summary-trend-down"
    } else if day.abs() <= 0.5 && week.abs() <= 2.0 {
        "summary-trend-sideways"
    } else {
        "summary-trend-mixed"
    };
    let (d, w, a) = (
        format::percent(day, locale),
        format::percent(week, locale),
        format::percent_unsigned(atr, locale),
    );
    let mut lines = vec![i18n.tr(locale, trend_key, &[("day", &d), ("week", &w)])];
    let vol_key = if atr < 3.0 {
        "summary-volatility-low"
    } else if atr <= 6.0 {
        "summary-volatility-moderate"
    } else {
        "summary-volatility-high"
    };
    lines.push(i18n.tr(locale, vol_key, &[("atr", &a)]));
    let by_day = |a: &&chainsignal_core::ReportRow, b: &&chainsignal_core::ReportRow| {
        a.change_24h_pct.total_cmp(&b.change_24h_pct)
    };
    if rows.len() >= 2
        && let (Some(best), Some(worst)) = (rows.iter().max_by(by_day), rows.iter().min_by(by_day))
    {
        lines.push(i18n.tr(
            locale,
            "summary-movers",
            &[
                ("best", best.symbol.as_str()),
                ("best_change", &format::percent(best.change_24h_pct, locale)),
                ("worst", worst.symbol.as_str()),
                ("worst_change", &format::percent(worst.change_24h_pct, locale)),
            ],
        ));
    }
    let unusual: Vec<&str> = rows
        .iter()
        .filter(|r| r.change_24h_pct.abs() > r.atr_3d_pct)
        .map(|r| r.symbol.as_str())
        .collect();
    lines.push(if unusual.is_empty() {
        i18n.t(locale, "summary-signals-none")
    } else {
        i18n.tr(locale, "summary-signals", &[("symbols", &unusual.join(", "))])
    });

    let mut reply = Reply::default().block(Block::Title(i18n.t(locale, "summary-title-rules")));
    if let Kind::RulesAfter(code) = kind {
        let key = if code == "timeout" {
            "summary-ai-timeout"
        } else {
            "summary-ai-unavailable"
        };
        reply = reply.block(Block::Paragraph(i18n.t(locale, key)));
    }
    reply = reply
        .block(Block::Paragraph(lines.join(" ")))
        .block(footer(report, locale, i18n, None));
    reply.tone = Tone::Neutral;
    Summary {
        kind,
        reply,
        outcome: Outcome::Ok,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_capped_at_a_word() {
        assert_eq!(cap("short", 100), "short");
        let long = "word ".repeat(100);
        let c = cap(&long, 120);
        assert!(c.chars().count() <= 120);
        assert!(c.ends_with("word…"));
        assert_eq!(cap(&"x".repeat(300), 120).chars().count(), 120);
    }
}
