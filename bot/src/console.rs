//! The console adapter: one command per line on stdin, plain text on stdout.
//! The leading `/` is optional here. `exit`, `quit` or end of input leave. Buttons are
//! numbered: `/confirm N`, `/cancel N`, or `/press N` for any other (Refresh).

use chainsignal_commands::PrivateForm;
use chainsignal_commands::parser::{self, ParsedCommand};
use chainsignal_commands::{
    ActionPress, ButtonStyle, ChatKind, ChatRef, Commands, Invocation, Platform, Reply, UserRef,
};
use secrecy::SecretString;
use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
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
        username: None,
    }
}

/// One console session: its request ids (unique across restarts: a random prefix and a
/// counter) and the buttons shown so far, by number.
pub struct Session<'a> {
    commands: &'a Commands,
    prefix: String,
    counter: AtomicU64,
    buttons: Mutex<HashMap<u64, String>>,
    next_button: AtomicU64,
}

impl<'a> Session<'a> {
    pub fn new(commands: &'a Commands) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        Self {
            commands,
            prefix: format!("{:x}-{}", nanos, std::process::id()),
            counter: AtomicU64::new(0),
            buttons: Mutex::new(HashMap::new()),
            next_button: AtomicU64::new(1),
        }
    }

    fn request_id(&self) -> String {
        format!("{}-{}", self.prefix, self.counter.fetch_add(1, Ordering::Relaxed))
    }

    /// Answer one line, its buttons numbered for this session; `None` for a blank line.
    /// A command that needs secrets not given on the line is answered as if they were
    /// missing: [`serve_until`] asks for them instead (see [`Session::step`]).
    pub async fn answer(&self, line: &str) -> Option<String> {
        let reply = self.reply(line).await?;
        Some(self.render(reply))
    }

    /// The reply to one line; `None` for a blank line.
    async fn reply(&self, line: &str) -> Option<Reply> {
        match self.step(line, false).await? {
            Step::Reply(reply) => Some(reply),
            Step::Ask(..) => None,
        }
    }

    /// The secrets of `form`, read by `read` one field at a time, submitted as the
    /// command's input: never echoed, never held as plain text past the read.
    async fn submit(&self, form: &PrivateForm, fields: Vec<(String, SecretString)>) -> Reply {
        let chat = console_chat();
        let Some((command, input)) = self.commands.form_submission(&form.id, fields) else {
            return self
                .commands
                .parse_error_reply(&chat, None, &parser::ParseError::BadName)
                .await;
        };
        let invocation = Invocation {
            request_id: self.request_id(),
            user: console_user(),
            chat,
            locale: None,
            chat_admin: true,
            input,
            command,
            reply_to: None,
        };
        self.commands.run(&invocation).await
    }

    /// What one line asks for: a reply, or (with `ask`) a private form to fill first.
    async fn step(&self, line: &str, ask: bool) -> Option<Step> {
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
            Ok(Some(ParsedCommand { name, raw }))
                if matches!(name.as_str(), "confirm" | "cancel" | "press") =>
            {
                self.press(&name, &raw).await
            }
            Ok(Some(parsed)) => {
                let invocation = Invocation {
                    request_id: self.request_id(),
                    user: console_user(),
                    chat,
                    locale: None,
                    chat_admin: true,
                    input: parsed.input(),
                    command: parsed.name,
                    reply_to: None,
                };
                if ask && let Some(form) = self.commands.private_form(&invocation).await {
                    return Some(Step::Ask(form));
                }
                self.commands.run(&invocation).await
            }
            Ok(None) => return None,
            Err(e) => self.commands.parse_error_reply(&chat, None, &e).await,
        };
        Some(Step::Reply(reply))
    }

    /// `/confirm N`, `/cancel N`, `/press N`: the button numbered N, if it is of that kind.
    async fn press(&self, verb: &str, raw: &str) -> Reply {
        let data = raw
            .trim()
            .parse::<u64>()
            .ok()
            .and_then(|n| self.buttons.lock().ok()?.get(&n).cloned())
            .filter(|data| match verb {
                "confirm" => data.ends_with(":y"),
                "cancel" => data.ends_with(":n"),
                _ => true,
            })
            // An unknown number is a button that is no longer valid.
            .unwrap_or_default();
        let press = ActionPress {
            request_id: self.request_id(),
            user: console_user(),
            chat: console_chat(),
            locale: None,
            chat_admin: true,
            data,
        };
        self.commands.on_action(&press).await.reply().clone()
    }

    /// Plain text, then the buttons as numbered choices.
    fn render(&self, reply: Reply) -> String {
        let mut text = reply.to_plain_text();
        let Ok(mut shown) = self.buttons.lock() else {
            return text;
        };
        for b in &reply.buttons {
            let n = self.next_button.fetch_add(1, Ordering::Relaxed);
            let verb = match (b.style, b.data.ends_with(":y"), b.data.ends_with(":n")) {
                (_, true, _) => "confirm",
                (_, _, true) => "cancel",
                (ButtonStyle::Danger, _, _) => "confirm",
                _ => "press",
            };
            let label = chainsignal_commands::sanitize::sanitize(&b.label);
            text.push_str(&format!("\n[{label}: /{verb} {n}]"));
            shown.insert(n, b.data.clone());
        }
        text
    }
}

/// What a line leads to.
enum Step {
    Reply(Reply),
    /// Read these secrets first, then submit them.
    Ask(PrivateForm),
}

/// Answer one line outside any session (the demo's first report): no buttons are shown,
/// since no session would know their numbers.
pub async fn answer(commands: &Commands, line: &str) -> Option<String> {
    let reply = Session::new(commands).reply(line).await?;
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

/// The secret fields of `form`: from the terminal without echo in an interactive
/// session on one (`rpassword`), else the next lines of `input` (scripts, tests). Only the prompt
/// is written, never a value. A field left empty (or the end of input) stays missing:
/// the command then says what it needs.
async fn read_secrets<R, W>(
    commands: &Commands,
    form: &PrivateForm,
    input: &mut R,
    output: &mut W,
    buf: &mut Vec<u8>,
    interactive: bool,
) -> std::io::Result<Vec<(String, SecretString)>>
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let locale = commands.chat_locale(&console_chat(), None).await;
    // Only an interactive session on a terminal prompts there (a test or a script may
    // run from a terminal while its input is not).
    let terminal = interactive && std::io::stdin().is_terminal();
    let mut fields = Vec::new();
    for field in form.fields.iter().filter(|f| f.secret) {
        let prompt = commands
            .services()
            .i18n
            .tr(locale, "console-secret-prompt", &[("label", &field.label)]);
        let value = if terminal {
            let prompt = format!("{prompt} ");
            tokio::task::spawn_blocking(move || rpassword::prompt_password(prompt))
                .await
                .map_err(std::io::Error::other)??
        } else {
            output.write_all(format!("{prompt}\n").as_bytes()).await?;
            output.flush().await?;
            match read_line(input, buf).await? {
                Some(Line::Text(text)) => text,
                _ => String::new(),
            }
        };
        // The line buffer held the secret: cleared, not left for the next line to overwrite.
        buf.iter_mut().for_each(|b| *b = 0);
        buf.clear();
        fields.push((field.name.to_string(), SecretString::from(value)));
    }
    Ok(fields)
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
    let session = Session::new(commands);
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
                match session.step(line, true).await {
                    None => None,
                    Some(Step::Reply(reply)) => Some(session.render(reply)),
                    Some(Step::Ask(form)) => {
                        let fields =
                            read_secrets(commands, &form, &mut input, &mut output, &mut buf, interactive)
                                .await?;
                        Some(session.render(session.submit(&form, fields).await))
                    }
                }
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
