//! A [`Reply`] as Telegram HTML messages: every dynamic string escaped, tables in
//! `<pre>`, split at line boundaries so that no message exceeds the limit.

use chainsignal_commands::{Block, Reply};
use teloxide::utils::html::escape;

/// Telegram's limit is 4096 characters a message; we count UTF-16 units of the HTML,
/// which is never less than what Telegram counts.
pub const MESSAGE_LIMIT: usize = 4096;

/// One block as lines of HTML, and whether they sit inside `<pre>`.
struct Segment {
    lines: Vec<String>,
    pre: bool,
}

fn len(s: &str) -> usize {
    s.encode_utf16().count()
}

fn segments(reply: &Reply) -> Vec<Segment> {
    let text = |s: &str| s.lines().map(escape).collect::<Vec<_>>();
    reply
        .blocks
        .iter()
        .map(|block| match block {
            Block::Title(t) => Segment {
                lines: vec![format!("<b>{}</b>", escape(t))],
                pre: false,
            },
            Block::Paragraph(p) => Segment {
                lines: text(p),
                pre: false,
            },
            Block::Fields(fields) => Segment {
                lines: fields
                    .iter()
                    .map(|(k, v)| format!("<b>{}</b>: {}", escape(k), escape(v)))
                    .collect(),
                pre: false,
            },
            Block::Table { headers, align, rows } => Segment {
                lines: text(&chainsignal_commands::reply::render_table(headers, align, rows)),
                pre: true,
            },
            Block::List(items) => Segment {
                lines: items.iter().map(|i| format!("• {}", escape(i))).collect(),
                pre: false,
            },
            Block::Footer(f) => Segment {
                lines: vec![format!("<i>{}</i>", escape(f))],
                pre: false,
            },
        })
        .collect()
}

/// Cut one over-long escaped line into pieces of at most `max` units, never inside an
/// entity such as `&amp;`.
fn cut(line: &str, max: usize) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    let mut in_entity = false;
    for c in line.chars() {
        if len(&current) + c.len_utf16() > max && !in_entity {
            pieces.push(std::mem::take(&mut current));
        }
        match c {
            '&' => in_entity = true,
            ';' => in_entity = false,
            _ => {}
        }
        current.push(c);
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces
}

/// The messages to send for `reply`, each at most `limit` UTF-16 units of HTML.
pub fn html_messages(reply: &Reply, limit: usize) -> Vec<String> {
    // No control or bidi-override character in anything shown (user input echoed too).
    let reply = &reply.sanitized();
    const PRE_OPEN: &str = "<pre>";
    const PRE_CLOSE: &str = "</pre>";
    let mut messages = Vec::new();
    let mut current = String::new();
    for (i, segment) in segments(reply).into_iter().enumerate() {
        let overhead = if segment.pre {
            PRE_OPEN.len() + PRE_CLOSE.len()
        } else {
            0
        };
        let room = limit.saturating_sub(overhead).max(16);
        let mut open = false;
        let separator = if i == 0 { "" } else { "\n\n" };
        let mut first_line = true;
        for piece in segment.lines.iter().flat_map(|l| cut(l, room)) {
            let sep = if first_line { separator } else { "\n" };
            let close_len = if segment.pre { PRE_CLOSE.len() } else { 0 };
            let open_len = if segment.pre && !open { PRE_OPEN.len() } else { 0 };
            let needed = len(sep) + open_len + len(&piece) + close_len;
            if !current.is_empty() && len(&current) + needed > limit {
                if open {
                    current.push_str(PRE_CLOSE);
                    open = false;
                }
                messages.push(std::mem::take(&mut current));
            }
            if !current.is_empty() {
                current.push_str(if first_line { separator } else { "\n" });
            }
            if segment.pre && !open {
                current.push_str(PRE_OPEN);
                open = true;
            }
            current.push_str(&piece);
            first_line = false;
        }
        if open {
            current.push_str(PRE_CLOSE);
        }
    }
    if !current.is_empty() {
        messages.push(current);
    }
    messages
}

#[cfg(test)]
mod tests {
    use super::*;
    use chainsignal_commands::Align;

    #[test]
    fn escapes_everything_dynamic() {
        let reply = Reply::default()
            .block(Block::Title("A <b> & C_D".into()))
            .block(Block::Paragraph("x < y && z > 1".into()))
            .block(Block::List(vec!["<script>".into()]))
            .block(Block::Footer("f&g".into()));
        let m = html_messages(&reply, MESSAGE_LIMIT);
        assert_eq!(
            m,
            [
                "<b>A &lt;b&gt; &amp; C_D</b>\n\nx &lt; y &amp;&amp; z &gt; 1\n\n• &lt;script&gt;\n\n<i>f&amp;g</i>"
            ]
        );
    }

    #[test]
    fn tables_go_in_pre_and_long_replies_split_at_lines() {
        let rows: Vec<Vec<String>> = (0..400)
            .map(|i| vec![format!("SYM{i}<&>"), format!("{}.5", i * 1000)])
            .collect();
        let reply = Reply::default()
            .block(Block::Title("Report".into()))
            .block(Block::Table {
                headers: vec!["Symbol".into(), "Close".into()],
                align: vec![Align::Left, Align::Right],
                rows,
            });
        let messages = html_messages(&reply, MESSAGE_LIMIT);
        assert!(messages.len() > 1);
        let mut seen = 0;
        for m in &messages {
            assert!(len(m) <= MESSAGE_LIMIT, "{} units", len(m));
            assert_eq!(
                m.matches("<pre>").count(),
                1,
                "each part of the table is a complete <pre>"
            );
            assert!(m.ends_with("</pre>"));
            seen += m.matches("SYM").count();
        }
        assert_eq!(seen, 400, "no row lost or repeated");
        assert!(messages[0].starts_with("<b>Report</b>\n\n<pre>Symbol"));
    }

    #[test]
    fn an_endless_line_is_cut_without_breaking_entities() {
        let reply = Reply::text("&".repeat(5000));
        let messages = html_messages(&reply, 100);
        assert!(messages.len() > 1);
        for m in &messages {
            assert!(len(m) <= 100);
            assert!(m.starts_with("&amp;") && m.ends_with("&amp;"), "{m}");
        }
        assert_eq!(messages.concat().matches("&amp;").count(), 5000);
    }
}
