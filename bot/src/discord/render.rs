//! A [`Reply`] as a Discord message: one embed (title, Markdown text with tables in code
//! blocks, footer, colour by the market's direction), the attachments, a Refresh button,
//! and no mentions whatever the text says.

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

/// `refresh:<command>:<args>`, cut to Discord's limit at whole arguments.
pub fn refresh_id(command: &str, args: &[String]) -> String {
    let mut id = format!("refresh:{command}:");
    for (i, arg) in args.iter().enumerate() {
        let extra = if i == 0 { arg.len() } else { arg.len() + 1 };
        if id.len() + extra > CUSTOM_ID_LIMIT {
            break;
        }
        if i > 0 {
            id.push(' ');
        }
        id.push_str(arg);
    }
    id
}

/// The command and arguments of a Refresh button's custom id.
pub fn parse_refresh_id(id: &str) -> Option<(String, Vec<String>)> {
    let rest = id.strip_prefix("refresh:")?;
    let (command, args) = rest.split_once(':')?;
    Some((
        command.to_string(),
        args.split_whitespace().map(String::from).collect(),
    ))
}

/// The symbols in the first column of the code-block table of an embed's description.
pub fn table_symbols(description: &str) -> Vec<String> {
    let Some(start) = description.find("```") else {
        return Vec::new();
    };
    let body = &description[start + 3..];
    let body = &body[..body.find("```").unwrap_or(body.len())];
    body.lines()
        .skip_while(|l| !l.starts_with("---"))
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .filter(|s| s.len() <= 20 && s.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()))
        .map(String::from)
        .collect()
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
    let buttons: Vec<CreateButton> = reply
        .actions
        .iter()
        .take(5)
        .map(|a| {
            CreateButton::new(refresh_id(&a.command, &a.args))
                .label(a.label.clone())
                .style(ButtonStyle::Secondary)
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
    fn refresh_ids_round_trip_and_fit() {
        let args: Vec<String> = (0..30).map(|i| format!("SYMBOL{i}USDT")).collect();
        let id = refresh_id("report", &args);
        assert!(id.len() <= CUSTOM_ID_LIMIT);
        let (command, parsed) = parse_refresh_id(&id).unwrap();
        assert_eq!(command, "report");
        assert_eq!(parsed, args[..parsed.len()]);
        assert!(parse_refresh_id("other:x").is_none());
    }

    #[test]
    fn symbols_come_back_from_the_table() {
        let d = "```\nSymbol   Close\n--------------\nBTCUSDT  1.0\nETHUSDT  2.0\n```\n\nfooter";
        assert_eq!(table_symbols(d), ["BTCUSDT", "ETHUSDT"]);
        assert!(table_symbols("no table").is_empty());
    }

    #[test]
    fn markdown_is_escaped() {
        assert_eq!(
            escape_markdown("*a* _b_ `c` @everyone"),
            "\\*a\\* \\_b\\_ \\`c\\` @everyone"
        );
    }
}
