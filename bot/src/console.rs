//! The console adapter: one command per line on stdin, plain text on stdout.
//! The leading `/` is optional here. `exit`, `quit` or end of input leave.

use chainsignal_commands::parser::{self, ParsedCommand};
use chainsignal_commands::{ChatKind, ChatRef, Commands, Invocation, Platform, Role, UserRef};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt};

const PROMPT: &str = "chainsignal> ";

fn console_chat() -> ChatRef {
    ChatRef {
        platform: Platform::Console,
        id: "console".into(),
        kind: ChatKind::Private,
    }
}

fn console_user() -> UserRef {
    let name = std::env::var("USER").ok().filter(|u| !u.is_empty());
    UserRef {
        platform: Platform::Console,
        id: "local".into(),
        display_name: name,
    }
}

/// Answer one line; `None` for a blank line.
pub async fn answer(commands: &Commands, line: &str) -> Option<String> {
    let line = line.trim();
    if line.is_empty() {
        return None;
    }
    let text = if line.starts_with('/') {
        line.to_string()
    } else {
        format!("/{line}")
    };
    let chat = console_chat();
    let reply = match parser::parse(&text, None) {
        Ok(Some(ParsedCommand { name, args, raw })) => {
            let invocation = Invocation {
                user: console_user(),
                chat,
                locale: None,
                // The person at the console runs the process: they own it.
                role: Role::Owner,
                command: name,
                args,
                raw_args: raw,
            };
            commands.run(&invocation).await
        }
        Ok(None) => return None,
        Err(e) => commands.parse_error_reply(&chat, None, &e).await,
    };
    Some(reply.to_plain_text())
}

/// Bytes kept of one input line: enough for [`parser::MAX_INPUT`] characters of any
/// width. Past this the rest of the line is read and dropped, never held in memory.
const MAX_LINE_BYTES: usize = parser::MAX_INPUT * 4 + 8;

/// One line of input as read.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    Text(String),
    /// The line holds bytes that are not UTF-8.
    NotUtf8,
    /// Longer than [`MAX_LINE_BYTES`]: discarded.
    TooLong,
}

/// Read one line (up to `\n` or the end of input) without ever buffering more than
/// [`MAX_LINE_BYTES`] of it; `None` at the end of input.
async fn read_line<R: AsyncBufRead + Unpin>(
    input: &mut R,
    buf: &mut Vec<u8>,
) -> std::io::Result<Option<Line>> {
    buf.clear();
    let mut too_long = false;
    let mut read_any = false;
    loop {
        let (used, end_of_line) = {
            let chunk = input.fill_buf().await?;
            if chunk.is_empty() {
                if !read_any {
                    return Ok(None);
                }
                break;
            }
            read_any = true;
            let newline = chunk.iter().position(|b| *b == b'\n');
            let part = &chunk[..newline.unwrap_or(chunk.len())];
            if !too_long {
                if buf.len() + part.len() > MAX_LINE_BYTES {
                    too_long = true;
                    *buf = Vec::new();
                } else {
                    buf.extend_from_slice(part);
                }
            }
            (newline.map_or(chunk.len(), |i| i + 1), newline.is_some())
        };
        input.consume(used);
        if end_of_line {
            break;
        }
    }
    if too_long {
        return Ok(Some(Line::TooLong));
    }
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    Ok(Some(match std::str::from_utf8(buf) {
        Ok(text) => Line::Text(text.to_string()),
        Err(_) => Line::NotUtf8,
    }))
}

/// The answer to a line that could not be taken as text.
async fn refuse(commands: &Commands, line: &Line) -> String {
    let chat = console_chat();
    match line {
        Line::TooLong => commands
            .parse_error_reply(&chat, None, &parser::ParseError::TooLong)
            .await
            .to_plain_text(),
        _ => {
            let locale = commands.chat_locale(&chat, None).await;
            commands.services().i18n.t(locale, "error-not-utf8")
        }
    }
}

/// Serve until end of input or `exit`. With `interactive`, print a prompt.
pub async fn serve<R, W>(commands: &Commands, input: R, output: W, interactive: bool) -> std::io::Result<()>
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    serve_until(commands, input, output, interactive, std::future::pending()).await
}

/// Like [`serve`], and stop taking lines once `stop` resolves; a command already read
/// is answered first. Input is read as bytes: a line that is not UTF-8 or longer than
/// a command can be is answered with an error, and the next line is served.
pub async fn serve_until<R, W>(
    commands: &Commands,
    mut input: R,
    mut output: W,
    interactive: bool,
    stop: impl std::future::Future<Output = ()>,
) -> std::io::Result<()>
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buf = Vec::new();
    tokio::pin!(stop);
    loop {
        if interactive {
            output.write_all(PROMPT.as_bytes()).await?;
            output.flush().await?;
        }
        let line = tokio::select! {
            line = read_line(&mut input, &mut buf) => line?,
            _ = &mut stop => None,
        };
        let Some(line) = line else { break };
        let text = match &line {
            Line::Text(line) => {
                if matches!(line.trim(), "exit" | "quit" | "/exit" | "/quit") {
                    break;
                }
                answer(commands, line).await
            }
            refused => Some(refuse(commands, refused).await),
        };
        if let Some(text) = text {
            output.write_all(format!("{text}\n\n").as_bytes()).await?;
            output.flush().await?;
        }
    }
    if interactive {
        output.write_all(b"\n").await?;
    }
    output.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn lines(input: &[u8]) -> Vec<Line> {
        let mut reader = tokio::io::BufReader::with_capacity(16, input);
        let mut buf = Vec::new();
        let mut out = Vec::new();
        while let Some(line) = read_line(&mut reader, &mut buf).await.unwrap() {
            out.push(line);
        }
        out
    }

    #[tokio::test]
    async fn lines_are_bytes_capped_while_read() {
        let mut input = b"/help\r\n/report \xff\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', MAX_LINE_BYTES + 1));
        input.extend(b"\n\nlast");
        assert_eq!(
            lines(&input).await,
            [
                Line::Text("/help".into()),
                Line::NotUtf8,
                Line::TooLong,
                Line::Text(String::new()),
                Line::Text("last".into()),
            ]
        );
    }
}
