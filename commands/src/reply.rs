//! What a command answers, before any platform renders it.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum Visibility {
    #[default]
    Public,
    /// Only the asker sees it where the platform can do that (Discord ephemeral).
    Private,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Align {
    Left,
    Right,
}

/// The general direction a reply is about; adapters may colour by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Tone {
    Neutral,
    Up,
    Down,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Block {
    Title(String),
    Paragraph(String),
    /// Label / value pairs.
    Fields(Vec<(String, String)>),
    /// A table meant for a monospace font.
    Table {
        headers: Vec<String>,
        align: Vec<Align>,
        rows: Vec<Vec<String>>,
    },
    /// A list of short lines (bullets).
    List(Vec<String>),
    /// Small print at the end: data source, time.
    Footer(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attachment {
    pub filename: String,
    pub content_type: String,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ButtonStyle {
    Primary,
    Secondary,
    Danger,
}

/// A button under a reply. Its `data` names a pending action (see
/// [`crate::Commands::on_action`]); it fits Telegram's 64-byte `callback_data` and
/// Discord's 100-character `custom_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Button {
    pub label: String,
    pub style: ButtonStyle,
    pub data: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reply {
    pub blocks: Vec<Block>,
    pub attachments: Vec<Attachment>,
    pub visibility: Visibility,
    pub tone: Tone,
    pub buttons: Vec<Button>,
}

impl Default for Reply {
    fn default() -> Self {
        Self {
            blocks: Vec::new(),
            attachments: Vec::new(),
            visibility: Visibility::Public,
            tone: Tone::Neutral,
            buttons: Vec::new(),
        }
    }
}

impl Reply {
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            blocks: vec![Block::Paragraph(text.into())],
            ..Self::default()
        }
    }

    /// A private reply in the error tone: what every error looks like.
    pub fn error(text: impl Into<String>) -> Self {
        Self {
            visibility: Visibility::Private,
            tone: Tone::Error,
            ..Self::text(text)
        }
    }

    pub fn block(mut self, block: Block) -> Self {
        self.blocks.push(block);
        self
    }

    /// All the text of the reply, one block per paragraph, tables aligned in columns:
    /// the console's rendering, and a fallback for any platform. Sanitized: no control
    /// or bidi-override character reaches the terminal.
    pub fn to_plain_text(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        for block in &self.blocks {
            parts.push(match block {
                Block::Title(t) => t.clone(),
                Block::Paragraph(p) | Block::Footer(p) => p.clone(),
                Block::Fields(fields) => fields
                    .iter()
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect::<Vec<_>>()
                    .join("\n"),
                Block::Table { headers, align, rows } => render_table(headers, align, rows),
                Block::List(items) => items
                    .iter()
                    .map(|i| format!("- {i}"))
                    .collect::<Vec<_>>()
                    .join("\n"),
            });
        }
        crate::sanitize::sanitize(&parts.join("\n\n")).into_owned()
    }
}

/// A table in columns padded with spaces, a rule under the header.
pub fn render_table(headers: &[String], align: &[Align], rows: &[Vec<String>]) -> String {
    let width = |i: usize| {
        std::iter::once(headers.get(i))
            .chain(rows.iter().map(|r| r.get(i)))
            .flatten()
            .map(|s| s.chars().count())
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..headers.len()).map(width).collect();
    let line = |cells: &[String]| {
        let mut out = String::new();
        for (i, w) in widths.iter().enumerate() {
            let cell = cells.get(i).map(String::as_str).unwrap_or("");
            let pad = w.saturating_sub(cell.chars().count());
            if i > 0 {
                out.push_str("  ");
            }
            match align.get(i).copied().unwrap_or(Align::Left) {
                Align::Left => {
                    out.push_str(cell);
                    out.extend(std::iter::repeat_n(' ', pad));
                }
                Align::Right => {
                    out.extend(std::iter::repeat_n(' ', pad));
                    out.push_str(cell);
                }
            }
        }
        out.trim_end().to_string()
    };
    let mut lines = Vec::with_capacity(rows.len() + 2);
    // A table of label / value rows has no header: no header line, no rule.
    if headers.iter().any(|h| !h.is_empty()) {
        lines.push(line(headers));
        let total = widths.iter().sum::<usize>() + 2 * widths.len().saturating_sub(1);
        lines.push("-".repeat(total));
    }
    lines.extend(rows.iter().map(|r| line(r)));
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_line_up() {
        let t = render_table(
            &["Symbol".into(), "Close".into()],
            &[Align::Left, Align::Right],
            &[
                vec!["BTCUSDT".into(), "1.5".into()],
                vec!["X".into(), "100.25".into()],
            ],
        );
        assert_eq!(
            t,
            "Symbol    Close\n---------------\nBTCUSDT     1.5\nX        100.25"
        );
    }

    #[test]
    fn errors_are_private() {
        let r = Reply::error("nope");
        assert_eq!(r.visibility, Visibility::Private);
        assert_eq!(r.to_plain_text(), "nope");
    }
}
