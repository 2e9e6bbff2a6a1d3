//! Market alerts: a sharp move over the last hour, or volatility rising (ATR 3D well
//! above ATR 7D), sent to the chats subscribed to alerts, at most once per symbol and
//! direction per cooldown, whatever the number of instances.

use super::Scheduler;
use chainsignal_commands::{Block, Locale, Reply, format};
use chainsignal_core::indicators::pct_change_back;
use chainsignal_core::market::Interval;
use chrono::{DateTime, Duration, Utc};

struct Alert {
    symbol: String,
    direction: &'static str,
    key: &'static str,
    args: Vec<(&'static str, f64)>,
}

/// Check the watchlist; returns how many alerts went out (to at least one chat). An
/// alert is marked sent (its cooldown starts) only when it reached at least one chat:
/// an alert no chat received is unmarked and tried again at the next check.
pub(super) async fn check(s: &Scheduler, now: DateTime<Utc>) -> usize {
    let subscribers = match s.store().subscribers("alerts").await {
        Ok(subs) if !subs.is_empty() => subs,
        Ok(_) => return 0,
        Err(e) => {
            tracing::error!(error = %e, "cannot read alert subscribers");
            return 0;
        }
    };
    let services = s.app.commands.services();
    let report = services.reports.build(&services.watchlist).await;
    let mut found = Vec::new();
    for row in &report.rows {
        let hourly = services
            .reports
            .market()
            .klines(&row.symbol, Interval::Hour, 2)
            .await;
        let closes: Vec<f64> = hourly
            .map(|c| c.iter().map(|k| k.close).collect())
            .unwrap_or_default();
        if let Some(change) = pct_change_back(&closes, 1)
            && change.abs() >= s.alerts.move_pct
        {
            let (direction, key) = if change > 0.0 {
                ("up", "alert-move-up")
            } else {
                ("down", "alert-move-down")
            };
            found.push(Alert {
                symbol: row.symbol.to_string(),
                direction,
                key,
                args: vec![("change", change), ("price", row.close)],
            });
        }
        if row.atr_7d_pct > 0.0 && row.atr_3d_pct / row.atr_7d_pct >= s.alerts.atr_ratio {
            found.push(Alert {
                symbol: row.symbol.to_string(),
                direction: "volatility",
                key: "alert-volatility",
                args: vec![("atr3", row.atr_3d_pct), ("atr7", row.atr_7d_pct)],
            });
        }
    }
    let cooldown = Duration::seconds(s.alerts.cooldown_secs);
    let mut sent = 0;
    for alert in found {
        match s
            .store()
            .claim_alert(&alert.symbol, alert.direction, now, now - cooldown)
            .await
        {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                tracing::error!(error = %e, "cannot claim an alert");
                continue;
            }
        }
        let mut delivered = 0;
        for target in &subscribers {
            let locale = s.locale_of(target).await;
            match s.send(target, &alert_reply(s, &alert, locale)).await {
                Ok(()) => delivered += 1,
                Err(e) => tracing::debug!(error = %e, "alert not delivered"),
            }
        }
        if delivered == 0 {
            tracing::warn!(symbol = %alert.symbol, direction = alert.direction, "an alert reached no chat; it is not marked sent");
            if let Err(e) = s.store().release_alert(&alert.symbol, alert.direction, now).await {
                tracing::error!(error = %e, "cannot unmark an undelivered alert");
            }
            continue;
        }
        sent += 1;
        metrics::counter!("chainsignal_alerts_total").increment(1);
    }
    sent
}

fn alert_reply(s: &Scheduler, alert: &Alert, locale: Locale) -> Reply {
    let args: Vec<(&str, String)> = std::iter::once(("symbol", alert.symbol.clone()))
        .chain(alert.args.iter().map(|(k, v)| {
            let text = match *k {
                "price" => format::price(*v, locale),
                "change" => format::percent(*v, locale),
                _ => format::percent_unsigned(*v, locale),
            };
            (*k, text)
        }))
        .collect();
    let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Reply::default()
        .block(Block::Title(s.i18n().t(locale, "alert-title")))
        .block(Block::Paragraph(s.i18n().tr(locale, alert.key, &args)))
}
