//! Text that reaches a terminal or a chat client is made harmless: no control
//! characters (ANSI escape sequences, NUL, C0/C1 codes, DEL) and no bidirectional
//! overrides, embeddings, isolates or marks (which reorder what a reader sees, e.g.
//! U+202E). Line feeds and tabs stay. Every renderer passes its text through
//! [`sanitize`] (or a reply through [`Reply::sanitized`]), so user input echoed in a
//! reply, an AI answer or a translation can never carry them.

use crate::reply::{Block, Button, Reply};

/// Whether `c` must not reach a reader.
pub fn is_unsafe(c: char) -> bool {
    match c {
        '\n' | '\t' => false,
        // C0 (ESC, NUL, CR, BEL…), DEL and C1 (U+0080–U+009F, including CSI U+009B).
        c if c.is_control() => true,
        // Bidi embeddings and overrides, isolates, marks.
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}' => true,
        _ => false,
    }
}

/// `text` without the characters of [`is_unsafe`]; borrowed when there is none.
pub fn sanitize(text: &str) -> std::borrow::Cow<'_, str> {
    if text.chars().any(is_unsafe) {
        std::borrow::Cow::Owned(text.chars().filter(|c| !is_unsafe(*c)).collect())
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

fn clean(s: &str) -> String {
    sanitize(s).into_owned()
}

impl Reply {
    /// The same reply with every text sanitized (attachments are files: left alone).
    pub fn sanitized(&self) -> Reply {
        let blocks = self
            .blocks
            .iter()
            .map(|block| match block {
                Block::Title(t) => Block::Title(clean(t)),
                Block::Paragraph(p) => Block::Paragraph(clean(p)),
                Block::Fields(f) => Block::Fields(f.iter().map(|(k, v)| (clean(k), clean(v))).collect()),
                Block::Table { headers, align, rows } => Block::Table {
                    headers: headers.iter().map(|h| clean(h)).collect(),
                    align: align.clone(),
                    rows: rows
                        .iter()
                        .map(|r| r.iter().map(|c| clean(c)).collect())
                        .collect(),
                },
                Block::List(items) => Block::List(items.iter().map(|i| clean(i)).collect()),
                Block::Footer(f) => Block::Footer(clean(f)),
            })
            .collect();
        let buttons = self
            .buttons
            .iter()
            .map(|b| Button {
                label: clean(&b.label),
                ..b.clone()
            })
            .collect();
        Reply {
            blocks,
            buttons,
            attachments: self.attachments.clone(),
            visibility: self.visibility,
            tone: self.tone,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_go_newlines_and_tabs_stay() {
        let dirty = "a\u{1b}[2Jb\0c\u{7}\r\u{7f}\u{85}\u{9b}31m\u{202E}d\u{2066}e\u{2069}\u{200E}\u{200F}\u{61C}f\n\tg";
        assert_eq!(sanitize(dirty), "a[2Jbc31mdef\n\tg");
        assert!(matches!(sanitize("plain 😀 żółć"), std::borrow::Cow::Borrowed(_)));
        let reply = Reply::text("x\u{202E}y").block(Block::Fields(vec![("k\0".into(), "v\u{1b}".into())]));
        let clean = reply.sanitized();
        assert_eq!(clean.to_plain_text(), "xy\n\nk: v");
    }
}
