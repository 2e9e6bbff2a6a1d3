//! One file per command.

mod account;
mod admin;
mod admin_audit;
mod admin_broadcast;
mod admin_risk;
mod admin_status;
mod audit;
mod close;
mod help;
pub(crate) mod keys;
pub(crate) mod keys_form;
mod lang;
mod liq;
mod mode;
mod open;
mod paper;
mod positions;
mod report;
mod risk;
mod schedule;
mod settings;
mod subscribe;
mod summary;
pub(crate) mod trade;

use crate::registry::{CommandKind, CommandSpec};
use crate::{CommandError, Ctx, Handled};

pub(crate) async fn dispatch(spec: &CommandSpec, ctx: &Ctx<'_>) -> Result<Handled, CommandError> {
    match spec.kind {
        CommandKind::Start => help::start(ctx),
        CommandKind::Help => help::run(ctx),
        CommandKind::Report => report::run(ctx).await,
        CommandKind::Summary => summary::run(ctx).await,
        CommandKind::Lang => lang::run(ctx).await,
        CommandKind::Subscribe => subscribe::subscribe(ctx).await,
        CommandKind::Unsubscribe => subscribe::unsubscribe(ctx).await,
        CommandKind::Schedule => schedule::run(ctx).await,
        CommandKind::Keys => keys::run(ctx).await,
        CommandKind::Link => account::link(ctx).await,
        CommandKind::Unlink => account::unlink(ctx).await,
        CommandKind::Whoami => account::whoami(ctx).await,
        CommandKind::Audit => audit::run(ctx).await,
        CommandKind::Mode => mode::run(ctx).await,
        CommandKind::Open => open::run(ctx).await,
        CommandKind::Close => close::run(ctx).await,
        CommandKind::Positions => positions::run(ctx).await,
        CommandKind::Paper => paper::run(ctx).await,
        CommandKind::Admin => match ctx.args.sub {
            Some("audit") => admin_audit::run(ctx).await,
            Some("broadcast") => admin_broadcast::run(ctx).await,
            Some("risk") => admin_risk::run(ctx).await,
            Some("risk-compare") => admin_risk::compare(ctx).await,
            Some("status") | None => admin_status::run(ctx).await,
            _ => admin::run(ctx).await,
        },
        CommandKind::Settings => settings::run(ctx).await,
        CommandKind::Risk => risk::run(ctx).await,
        CommandKind::Liq => liq::run(ctx),
    }
}
