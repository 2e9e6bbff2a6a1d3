//! `/lang en|pl`: the chat's language, stored per chat.

use crate::{CommandError, Ctx, Handled, Locale, Reply};

pub(crate) async fn run(ctx: &Ctx<'_>) -> Result<Handled, CommandError> {
    // A choice of the codes Locale knows; none: say which language is on.
    let Some(locale) = ctx.args.choice("language").and_then(Locale::from_tag) else {
        let current = ctx.t(&format!("lang-name-{}", ctx.locale.code()));
        return Err(CommandError::user_with("lang-usage", vec![("current", current)]));
    };
    ctx.services
        .store
        .set_chat_locale(&ctx.chat, locale.code())
        .await?;
    Ok(Reply::text(ctx.services.i18n.t(locale, "lang-set")).into())
}
