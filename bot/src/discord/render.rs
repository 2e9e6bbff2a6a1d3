//! A [`Reply`] as a Discord message: one embed (title, Markdown text with tables in code
//! blocks, footer, colour by the market's direction), the attachments, the reply's
//! buttons (their data is the custom id), and no mentions whatever the text says.

use chainsignal_commands::{Block, Reply, Tone};
use serenity::all::{
    ButtonStyle, Colour, CreateActionRow, CreateAllowedMentions, CreateAttachment, CreateButton, CreateEmbed,
    CreateEmbedFooter,
};

/// Discord's limit of an embed's description.
const DESCRIPTION_LIMIT: usize = 4096;
/// Discord's limit of a button's custom id.
const CUSTOM_ID_LIMIT: usize = 100;

pub struct Message {
    pub embed: CreateEmbed,
    pub files: Vec<CreateAttachment>,
    pub components: Vec<CreateActionRow>,
    pub ephemeral: bool,
}

/// No `@everyone`, roles or users pinged, whatever the text says.
pub fn no_mentions() -> CreateAllowedMentions {
    CreateAllowedMentions::new()
        .empty_users()
        .empty_roles()
        .everyone(false)
}

/// Text that Markdown must not format (user input, model answers).
pub fn escape_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '*' | '_' | '~' | '`' | '|' | '>' | '#' | '[' | ']' | '(' | ')' | '-'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn colour(tone: Tone) -> Colour {
    match tone {
        Tone::Up => Colour::new(0x2ecc71),
        Tone::Down => Colour::new(0xe74c3c),
        Tone::Error => Colour::new(0x95a5a6),
        Tone::Neutral => Colour::new(0x3498db),
    }
}

pub fn message(reply: &Reply) -> Message {
    // No control or bidi-override character in anything shown (user input echoed too).
    let reply = &reply.sanitized();
    let mut embed = CreateEmbed::new().colour(colour(reply.tone));
    let mut parts: Vec<String> = Vec::new();
    let mut titled = false;
    for block in &reply.blocks {
        match block {
            Block::Title(t) if !titled => {
                embed = embed.title(t.chars().take(256).collect::<String>());
                titled = true;
            }
            Block::Title(t) => parts.push(format!("**{}**", escape_markdown(t))),
            Block::Paragraph(p) => parts.push(escape_markdown(p)),
            Block::Fields(fields) => {
                for (k, v) in fields {
                    embed = embed.field(k, v, true);
                }
            }
            Block::Table { headers, align, rows } => {
                let table =
                    chainsignal_commands::reply::render_table(headers, align, rows).replace("```", "'''");
                parts.push(format!("```\n{table}\n```"));
            }
            Block::List(items) => parts.push(
                items
                    .iter()
                    .map(|i| format!("• {}", escape_markdown(i)))
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
            Block::Footer(f) => {
                embed = embed.footer(CreateEmbedFooter::new(f.chars().take(2048).collect::<String>()))
            }
        }
    }
    let mut description = parts.join("\n\n");
    if description.chars().count() > DESCRIPTION_LIMIT {
        description = description
            .chars()
            .take(DESCRIPTION_LIMIT - 1)
            .collect::<String>()
            + "…";
    }
    if !description.is_empty() {
        embed = embed.description(description);
    }
    let files = reply
        .attachments
        .iter()
        .map(|a| CreateAttachment::bytes(a.data.clone(), a.filename.clone()))
        .collect();
    // The button's data names a pending action; Discord gives it back as the custom id.
    let buttons: Vec<CreateButton> = reply
        .buttons
        .iter()
        .filter(|b| b.data.len() <= CUSTOM_ID_LIMIT)
        .take(5)
        .map(|b| {
            CreateButton::new(b.data.clone())
                .label(b.label.chars().take(80).collect::<String>())
                .style(match b.style {
                    chainsignal_commands::ButtonStyle::Primary => ButtonStyle::Primary,
                    chainsignal_commands::ButtonStyle::Secondary => ButtonStyle::Secondary,
                    chainsignal_commands::ButtonStyle::Danger => ButtonStyle::Danger,
                })
        })
        .collect();
    let components = if buttons.is_empty() {
        Vec::new()
    } else {
        vec![CreateActionRow::Buttons(buttons)]
    };
    Message {
        embed,
        files,
        components,
        ephemeral: reply.visibility == chainsignal_commands::Visibility::Private,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_is_escaped() {
        assert_eq!(
            escape_markdown("*a* _b_ `c` @everyone"),
            "\\*a\\* \\_b\\_ \\`c\\` @everyone"
        );
    }
}
