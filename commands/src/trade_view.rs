//! Trading as people read it: order previews, risk reasons, closed trades, position
//! tables and the monitor's notices, in the chat's language. Amounts are decimals
//! rounded to the cent for display only.

use crate::format::{exact, money, money_signed, percent_dec, price_dec};
use crate::i18n::{I18n, Locale};
use crate::reply::{Align, Block, Reply, Tone};
use chainsignal_core::desk::{Closed, Notice, NoticeKind};
use chainsignal_core::store::PositionRecord;
use chainsignal_core::trading::Violation;
use rust_decimal::Decimal;

/// One sentence per violated rule, with its numbers.
pub fn violation_lines(i18n: &I18n, locale: Locale, violations: &[Violation]) -> Vec<String> {
    let m = |d: Decimal| money(d, locale);
    let p = |d: Decimal| exact(d.round_dp(2), locale);
    violations
        .iter()
        .map(|v| match v {
            Violation::NoEquity { equity } => i18n.tr(locale, "risk-no-equity", &[("equity", &m(*equity))]),
            Violation::TooManyPositions { open, limit } => i18n.tr(
                locale,
                "risk-too-many-positions",
                &[("open", &open.to_string()), ("limit", &limit.to_string())],
            ),
            Violation::NotionalTooLarge {
                notional,
                pct,
                limit_pct,
            } => i18n.tr(
                locale,
                "risk-notional",
                &[
                    ("notional", &m(*notional)),
                    ("pct", &p(*pct)),
                    ("limit", &p(*limit_pct)),
                ],
            ),
            Violation::ExposureTooLarge {
                gross,
                pct,
                limit_pct,
            } => i18n.tr(
                locale,
                "risk-exposure",
                &[
                    ("gross", &m(*gross)),
                    ("pct", &p(*pct)),
                    ("limit", &p(*limit_pct)),
                ],
            ),
            Violation::LeverageTooHigh { lev, limit } => i18n.tr(
                locale,
                "risk-leverage",
                &[("lev", &lev.to_string()), ("limit", &limit.to_string())],
            ),
            Violation::StopLossRequired => i18n.t(locale, "risk-sl-required"),
            Violation::RewardRiskTooLow { ratio, min } => i18n.tr(
                locale,
                "risk-reward-risk",
                &[("ratio", &p(*ratio)), ("min", &p(*min))],
            ),
            Violation::RiskTooLarge { risk, pct, limit_pct } => i18n.tr(
                locale,
                "risk-risk-to-sl",
                &[("risk", &m(*risk)), ("pct", &p(*pct)), ("limit", &p(*limit_pct))],
            ),
            Violation::DailyLossLimitReached { loss, pct, limit_pct } => i18n.tr(
                locale,
                "risk-daily-loss",
                &[("loss", &m(*loss)), ("pct", &p(*pct)), ("limit", &p(*limit_pct))],
            ),
            Violation::InsufficientMargin { required, free } => i18n.tr(
                locale,
                "risk-margin",
                &[("required", &m(*required)), ("free", &m(*free))],
            ),
            Violation::TooLargeToCheck => i18n.t(locale, "risk-too-large"),
        })
        .collect()
}

/// `long` / `short` in the chat's language.
pub fn side_word(i18n: &I18n, locale: Locale, side: &str) -> String {
    i18n.t(
        locale,
        if side == "short" {
            "side-short"
        } else {
            "side-long"
        },
    )
}

/// `paper` / `testnet` / `live` in the chat's language.
pub fn venue_word(i18n: &I18n, locale: Locale, venue: &str) -> String {
    i18n.t(
        locale,
        match venue {
            "testnet" => "venue-testnet",
            "live" => "venue-live",
            _ => "venue-paper",
        },
    )
}

/// The answer to a close: exit price, realized PnL in USDT and %, fees, dust. A partial
/// close (a thin book) says what sold, and what stays open in the same position; its
/// numbers are the sold part's.
pub fn closed_reply(i18n: &I18n, locale: Locale, closed: &Closed) -> Reply {
    let row = &closed.position;
    let t = &closed.trade;
    let partial = closed.remaining.is_some();
    let key = match (row.close_reason.as_deref(), partial) {
        (Some("sl"), false) => "closed-by-sl",
        (Some("tp"), false) => "closed-by-tp",
        (Some("liquidation"), false) => "closed-by-liquidation",
        (_, false) => "closed-manual",
        (Some("sl"), true) => "closed-partial-by-sl",
        (Some("tp"), true) => "closed-partial-by-tp",
        (_, true) => "closed-partial-manual",
    };
    // The base asset (positions are on USDT pairs only).
    let base = row.symbol.strip_suffix("USDT").unwrap_or(&row.symbol);
    let mut reply = Reply::text(i18n.tr(
        locale,
        key,
        &[
            ("id", &closed.position_id().to_string()),
            ("symbol", &row.symbol),
            ("side", &side_word(i18n, locale, &row.side)),
            ("venue", &venue_word(i18n, locale, &row.venue)),
        ],
    ))
    .block(Block::Fields(vec![
        (i18n.t(locale, "field-exit"), price_dec(t.exit, locale)),
        (
            i18n.t(locale, "field-realized"),
            format!(
                "{} USDT ({})",
                money_signed(t.realized_pnl, locale),
                percent_dec(t.realized_pct, locale)
            ),
        ),
        (
            i18n.t(locale, "field-fees"),
            format!("{} USDT", money(t.fees, locale)),
        ),
    ]));
    if let Some(rest) = closed.remaining {
        let sold = row.qty.parse::<Decimal>().ok();
        let of = sold.and_then(|s| s.checked_add(rest));
        let shown = |d: Option<Decimal>| d.map(|d| exact(d, locale)).unwrap_or_else(|| row.qty.clone());
        reply = reply.block(Block::Paragraph(i18n.tr(
            locale,
            "closed-partial-rest",
            &[
                ("sold", &shown(sold)),
                ("qty", &shown(of)),
                ("rest", &exact(rest, locale)),
                ("symbol", base),
                ("id", &closed.position_id().to_string()),
            ],
        )));
    }
    if !closed.dust.is_zero() {
        reply = reply.block(Block::Paragraph(i18n.tr(
            locale,
            "closed-dust",
            &[("dust", &exact(closed.dust, locale)), ("symbol", base)],
        )));
    }
    reply.tone = if t.realized_pnl.is_sign_negative() {
        Tone::Down
    } else {
        Tone::Up
    };
    reply
}

/// The private message the owner of a position gets from the monitor.
pub fn notice_reply(i18n: &I18n, locale: Locale, notice: &Notice) -> Reply {
    match &notice.kind {
        NoticeKind::Closed(closed) => closed_reply(i18n, locale, closed),
        NoticeKind::CloseFailing { position, reason } => Reply::text(i18n.tr(
            locale,
            "monitor-close-failing",
            &[
                ("id", &position.id.to_string()),
                ("symbol", &position.symbol),
                ("trigger", &i18n.t(locale, &format!("trigger-{reason}"))),
            ],
        )),
        NoticeKind::FoundFilled(p) => Reply::text(
            i18n.tr(
                locale,
                "reconcile-found",
                &[
                    ("id", &p.id.to_string()),
                    ("side", &side_word(i18n, locale, &p.side)),
                    (
                        "qty",
                        &p.qty
                            .parse::<Decimal>()
                            .map(|q| exact(q, locale))
                            .unwrap_or_default(),
                    ),
                    ("symbol", &p.symbol),
                    (
                        "price",
                        &p.entry_price
                            .parse::<Decimal>()
                            .map(|x| price_dec(x, locale))
                            .unwrap_or_default(),
                    ),
                ],
            ),
        ),
        NoticeKind::Unverifiable { symbol } => {
            Reply::text(i18n.tr(locale, "reconcile-unverifiable", &[("symbol", symbol)]))
        }
        NoticeKind::NotPlaced { symbol } => {
            Reply::text(i18n.tr(locale, "reconcile-not-placed", &[("symbol", symbol)]))
        }
        NoticeKind::DailyLimit {
            check,
            next_day_local,
        } => daily_limit_reply(i18n, locale, check, next_day_local),
    }
}

/// Closed positions as a table: id, symbol, side, qty, entry, exit, PnL, reason, closed.
pub fn history_block(i18n: &I18n, locale: Locale, rows: &[PositionRecord]) -> Block {
    let d = |s: &Option<String>| s.as_deref().and_then(|v| v.parse::<Decimal>().ok());
    Block::Table {
        headers: [
            "col-id",
            "col-symbol",
            "col-side",
            "col-qty",
            "col-entry",
            "col-exit",
            "col-pnl",
            "col-reason",
            "col-closed",
        ]
        .iter()
        .map(|k| i18n.t(locale, k))
        .collect(),
        align: vec![
            Align::Right,
            Align::Left,
            Align::Left,
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Left,
            Align::Left,
        ],
        rows: rows
            .iter()
            .map(|r| {
                vec![
                    // A part sold by a partial close shows the position it was part of.
                    match r.split_from {
                        Some(of) => format!("{of}*"),
                        None => r.id.to_string(),
                    },
                    r.symbol.clone(),
                    side_word(i18n, locale, &r.side),
                    r.qty
                        .parse::<Decimal>()
                        .map(|q| exact(q, locale))
                        .unwrap_or_default(),
                    r.entry_price
                        .parse::<Decimal>()
                        .map(|p| price_dec(p, locale))
                        .unwrap_or_default(),
                    d(&r.exit_price).map(|p| price_dec(p, locale)).unwrap_or_default(),
                    d(&r.realized_pnl)
                        .map(|p| money_signed(p, locale))
                        .unwrap_or_default(),
                    r.close_reason
                        .as_deref()
                        .map(|c| i18n.t(locale, &format!("trigger-{c}")))
                        .unwrap_or_default(),
                    r.closed_at.map(crate::format::utc_minute).unwrap_or_default(),
                ]
            })
            .collect(),
    }
}

/// `part / whole × 100`, checked: a result too large to compute reads as the largest
/// decimal (shown as a full bar), never a panic.
fn share(part: Decimal, whole: Decimal) -> Decimal {
    part.checked_div(whole)
        .and_then(|r| r.checked_mul(Decimal::ONE_HUNDRED))
        .unwrap_or(Decimal::MAX)
}

/// A bar of 10 cells for `pct` % (capped at 100): `[####------]`.
pub fn bar(pct: Decimal) -> String {
    let cells = pct
        .checked_div(Decimal::TEN)
        .unwrap_or(Decimal::TEN)
        .round()
        .clamp(Decimal::ZERO, Decimal::TEN)
        .to_string()
        .parse::<usize>()
        .unwrap_or(0);
    format!("[{}{}]", "#".repeat(cells), "-".repeat(10 - cells))
}

/// `/risk`: the account's risk on its venue as two monospace tables (a `<pre>` block on
/// Telegram, a code block in the Discord embed): the account, then each position.
pub fn risk_reply(
    i18n: &I18n,
    locale: Locale,
    view: &chainsignal_core::desk::RiskView,
    profile: &str,
    next_day: &str,
) -> Reply {
    use chainsignal_core::trading::KillSwitch;
    let l = locale;
    let usdt = |d: Decimal| format!("{} USDT", money(d, l));
    let pct = |d: Option<Decimal>| {
        d.map(|p| format!("{} %", exact(p.round_dp(2), l)))
            .unwrap_or_else(|| "—".into())
    };
    let limits = &view.limits;
    let used = view.daily.used_pct.unwrap_or(if view.daily.loss > Decimal::ZERO {
        Decimal::ONE_HUNDRED
    } else {
        Decimal::ZERO
    });
    let gross_used = match (view.gross_pct, limits.max_gross_exposure_pct) {
        (Some(g), lim) if lim > Decimal::ZERO => share(g, lim),
        _ => Decimal::ZERO,
    };
    let open_used = if limits.max_open_positions > 0 {
        share(
            Decimal::from(view.open as u64),
            Decimal::from(limits.max_open_positions),
        )
    } else {
        Decimal::ZERO
    };
    let t = |k: &str| i18n.t(locale, k);
    let rows = vec![
        vec![t("risk-row-equity"), usdt(view.equity), String::new()],
        vec![t("risk-row-free"), usdt(view.free_equity), String::new()],
        vec![
            t("risk-row-gross"),
            format!(
                "{} ({} / {} %)",
                usdt(view.gross),
                pct(view.gross_pct),
                exact(limits.max_gross_exposure_pct, l)
            ),
            bar(gross_used),
        ],
        vec![
            t("risk-row-net"),
            format!("{} ({})", usdt(view.net), pct(view.net_pct)),
            String::new(),
        ],
        vec![
            t("risk-row-open"),
            format!("{} / {}", view.open, limits.max_open_positions),
            bar(open_used),
        ],
        vec![
            t("risk-row-realized"),
            format!("{} USDT", money_signed(view.realized_today, l)),
            String::new(),
        ],
        vec![
            t("risk-row-unrealized"),
            format!("{} USDT", money_signed(view.unrealized, l)),
            String::new(),
        ],
        vec![
            t("risk-row-daily"),
            format!(
                "{} ({} / {} %)",
                usdt(view.daily.loss),
                pct(view.daily.pct),
                exact(view.daily.limit_pct, l)
            ),
            bar(used),
        ],
        vec![
            t("risk-row-risk-total"),
            format!(
                "{} ({})",
                usdt(view.total_risk_to_sl),
                pct(if view.equity > Decimal::ZERO {
                    Some(share(view.total_risk_to_sl, view.equity))
                } else {
                    None
                })
            ),
            String::new(),
        ],
        vec![
            t("risk-row-kill-switch"),
            match view.daily.kill_switch {
                KillSwitch::Armed => t("risk-armed"),
                KillSwitch::Tripped => i18n.tr(locale, "risk-tripped", &[("until", next_day)]),
            },
            String::new(),
        ],
    ];
    let mut reply = Reply::default()
        .block(Block::Title(i18n.tr(
            locale,
            "risk-title",
            &[
                ("venue", &venue_word(i18n, locale, view.mode.as_str())),
                ("profile", profile),
            ],
        )))
        .block(Block::Table {
            headers: vec![String::new(), String::new(), String::new()],
            align: vec![Align::Left, Align::Right, Align::Left],
            rows,
        });
    if !view.positions.is_empty() {
        let dash = || "—".to_string();
        reply = reply.block(Block::Table {
            headers: [
                "col-id",
                "col-symbol",
                "col-side",
                "col-lev",
                "col-notional",
                "col-risk",
                "col-liq",
                "col-liq-dist",
            ]
            .iter()
            .map(|k| t(k))
            .collect(),
            align: vec![
                Align::Right,
                Align::Left,
                Align::Left,
                Align::Right,
                Align::Right,
                Align::Right,
                Align::Right,
                Align::Right,
            ],
            rows: view
                .positions
                .iter()
                .map(|p| {
                    vec![
                        p.id.to_string(),
                        p.symbol.clone(),
                        side_word(i18n, locale, p.side.as_str()),
                        format!("{}x", p.lev),
                        money(p.notional, l),
                        p.risk_to_sl.map(|r| money(r, l)).unwrap_or_else(dash),
                        p.liquidation.map(|x| price_dec(x, l)).unwrap_or_else(dash),
                        pct(p.liquidation_distance_pct),
                    ]
                })
                .collect(),
        });
    }
    reply.tone = match view.daily.kill_switch {
        KillSwitch::Tripped => Tone::Down,
        KillSwitch::Armed => Tone::Neutral,
    };
    reply
}

/// The owner's message when the daily loss limit is reached: the numbers, until when new
/// positions are refused, and what was closed if the profile flattens.
pub fn daily_limit_reply(
    i18n: &I18n,
    locale: Locale,
    check: &chainsignal_core::desk::DailyLimitCheck,
    until: &str,
) -> Reply {
    let d = &check.daily;
    let pct = d
        .pct
        .map(|p| exact(p.round_dp(2), locale))
        .unwrap_or_else(|| "100".into());
    let mut reply = Reply::text(i18n.tr(
        locale,
        "daily-limit-reached",
        &[
            ("loss", &money(d.loss, locale)),
            ("pct", &pct),
            ("limit", &exact(d.limit_pct, locale)),
            ("until", until),
        ],
    ));
    if !check.flattened.is_empty() {
        let total = check
            .flattened
            .iter()
            .try_fold(Decimal::ZERO, |a, c| a.checked_add(c.trade.realized_pnl))
            .unwrap_or(Decimal::MAX);
        reply = reply.block(Block::Paragraph(i18n.tr(
            locale,
            "daily-limit-flattened",
            &[
                ("count", &check.flattened.len().to_string()),
                ("pnl", &money_signed(total, locale)),
            ],
        )));
    }
    reply.tone = Tone::Down;
    reply
}
