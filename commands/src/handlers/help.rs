//! `/help`: the command list, generated from the registry.

use crate::registry::COMMANDS;
use crate::{Block, CommandError, Ctx, Handled, Reply};

pub(crate) fn run(ctx: &Ctx<'_>) -> Result<Handled, CommandError> {
    let lines = COMMANDS
        .iter()
        .map(|c| {
            let usage = c.usage_key.map(|k| format!(" {}", ctx.t(k))).unwrap_or_default();
            format!("/{}{} — {}", c.name, usage, ctx.t(c.description_key))
        })
        .collect();
    Ok(Reply::default()
        .block(Block::Title(ctx.t("help-title")))
        .block(Block::List(lines))
        .block(Block::Paragraph(ctx.t("help-symbols")))
        .into())
}
