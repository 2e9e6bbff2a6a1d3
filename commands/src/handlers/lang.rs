//! `/lang en|pl`: the chat's language, stored per chat.

use crate::{CommandError, Ctx, Handled, Locale, Reply};

pub(crate) async fn run(ctx: &Ctx<'_>) -> Result<Handled, CommandError> {
    let wanted = ctx.invocation.args.first().and_then(|a| Locale::from_tag(a));
    let (Some(locale), 1) = (wanted, ctx.invocation.args.len()) else {
        let current = ctx.t(&format!("lang-name-{}", ctx.locale.code()));
        return Err(CommandError::user_with("lang-usage", vec![("current", current)]));
    };
    ctx.services
        .store
        .set_chat_locale(&ctx.chat, locale.code())
        .await?;
    Ok(Reply::text(ctx.services.i18n.t(locale, "lang-set")).into())
}
