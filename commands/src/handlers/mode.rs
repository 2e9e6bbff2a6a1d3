//! `/mode [paper|testnet|live]`: where the account's orders go.

use super::trade::{desk_error, mode_word};
use crate::{CommandError, Ctx, Handled, Reply};
use chainsignal_core::desk::Mode;

pub(crate) async fn run(ctx: &Ctx<'_>) -> Result<Handled, CommandError> {
    let user_id = ctx.account()?;
    let desk = &ctx.services.desk;
    match ctx.args.choice("mode").and_then(Mode::parse) {
        None => {
            let mode = desk.mode(user_id).await.map_err(|e| desk_error(ctx, e))?;
            Ok(Reply::text(ctx.tr("mode-current", &[("mode", &mode_word(ctx, mode))])).into())
        }
        Some(mode) => {
            desk.set_mode(user_id, mode)
                .await
                .map_err(|e| desk_error(ctx, e))?;
            Ok(Reply::text(ctx.tr("mode-set", &[("mode", &mode_word(ctx, mode))])).into())
        }
    }
}
