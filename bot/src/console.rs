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

/// Serve until end of input or `exit`. With `interactive`, print a prompt.
pub async fn serve<R, W>(commands: &Commands, input: R, output: W, interactive: bool) -> std::io::Result<()>
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    serve_until(commands, input, output, interactive, std::future::pending()).await
}

/// Like [`serve`], and stop taking lines once `stop` resolves; a command already read
/// is answered first.
pub async fn serve_until<R, W>(
    commands: &Commands,
    input: R,
    mut output: W,
    interactive: bool,
    stop: impl std::future::Future<Output = ()>,
) -> std::io::Result<()>
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut lines = input.lines();
    tokio::pin!(stop);
    loop {
        if interactive {
            output.write_all(PROMPT.as_bytes()).await?;
            output.flush().await?;
        }
        let line = tokio::select! {
            line = lines.next_line() => line?,
            _ = &mut stop => None,
        };
        let Some(line) = line else { break };
        if matches!(line.trim(), "exit" | "quit" | "/exit" | "/quit") {
            break;
        }
        if let Some(text) = answer(commands, &line).await {
            output.write_all(text.as_bytes()).await?;
            output.write_all(b"\n\n").await?;
            output.flush().await?;
        }
    }
    if interactive {
        output.write_all(b"\n").await?;
    }
    output.flush().await
}
