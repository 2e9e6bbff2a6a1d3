//! `/help`: the command list, generated from the registry.

use crate::registry;
use crate::{Block, CommandError, Ctx, Handled, Reply};

/// `/start`: a greeting, then the same list as /help.
pub(crate) fn start(ctx: &Ctx<'_>) -> Result<Handled, CommandError> {
    let name = ctx.user.display_name.clone().unwrap_or_default();
    let greeting = match name.trim() {
        "" => ctx.t("start-greeting-anonymous"),
        name => ctx.tr("start-greeting", &[("name", name)]),
    };
    let mut reply = help_reply(ctx);
    reply.blocks.insert(0, Block::Paragraph(greeting));
    Ok(reply.into())
}

/// `/help [command]`: every command, or one command's usage.
pub(crate) fn run(ctx: &Ctx<'_>) -> Result<Handled, CommandError> {
    let asked = ctx.args.text("command").map(|c| c.trim_start_matches('/'));
    match asked.and_then(registry::find).filter(|c| c.menu) {
        Some(spec) => Ok(Reply::default()
            .block(Block::Title(format!("/{}", spec.name)))
            .block(Block::Paragraph(ctx.t(spec.description_key)))
            .block(Block::List(spec.usage()))
            .into()),
        None => Ok(help_reply(ctx).into()),
    }
}

fn help_reply(ctx: &Ctx<'_>) -> Reply {
    let lines = registry::available_to(ctx.role)
        .map(|c| format!("{} — {}", c.usage().join(" | "), ctx.t(c.description_key)))
        .collect();
    Reply::default()
        .block(Block::Title(ctx.t("help-title")))
        .block(Block::List(lines))
        .block(Block::Paragraph(ctx.t("help-symbols")))
}
