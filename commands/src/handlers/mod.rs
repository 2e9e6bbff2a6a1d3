//! One file per command.

mod account;
mod admin;
mod admin_audit;
mod admin_broadcast;
mod admin_status;
mod audit;
mod help;
pub(crate) mod keys;
pub(crate) mod keys_form;
mod lang;
mod report;
mod schedule;
mod subscribe;
mod summary;

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
        CommandKind::Admin => match ctx.args.sub {
            Some("audit") => admin_audit::run(ctx).await,
            Some("broadcast") => admin_broadcast::run(ctx).await,
            Some("status") | None => admin_status::run(ctx).await,
            _ => admin::run(ctx).await,
        },
    }
}
