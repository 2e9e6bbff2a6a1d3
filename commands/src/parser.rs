//! The text form of a command, shared by Telegram and the console:
//! `/report BTC eth`, `/report@ChainsignalBot btc, eth`, `report btc` on the console.

use thiserror::Error;

/// Longest message taken as a command; Telegram's own limit is 4096.
pub const MAX_INPUT: usize = 4096;

/// A command word and the text after it; the command's declared options decode the
/// text ([`crate::options::decode`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedCommand {
    pub name: String,
    /// The text after the command word, as written (commas kept: cron fields have them).
    pub raw: String,
}

impl ParsedCommand {
    /// The text form as the options decoder takes it.
    pub fn input(&self) -> crate::options::RawInput {
        crate::options::RawInput::Text(self.raw.clone())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    #[error("the message is too long")]
    TooLong,
    #[error("the command name is not valid")]
    BadName,
}

/// Parse a message. `Ok(None)`: not a command (no leading `/`, or addressed to another
/// bot with `/cmd@OtherBot`); `bot_username` is compared case-insensitively.
pub fn parse(text: &str, bot_username: Option<&str>) -> Result<Option<ParsedCommand>, ParseError> {
    let text = text.trim();
    let Some(rest) = text.strip_prefix('/') else {
        return Ok(None);
    };
    if text.len() > MAX_INPUT {
        return Err(ParseError::TooLong);
    }
    let head_end = rest
        .find(|c: char| c.is_whitespace() || c == ',')
        .unwrap_or(rest.len());
    let (head, tail) = rest.split_at(head_end);
    let tail = tail.trim_start_matches(',');
    let (name, addressee) = match head.split_once('@') {
        Some((n, a)) => (n, Some(a)),
        None => (head, None),
    };
    if let (Some(to), Some(me)) = (addressee, bot_username)
        && !to.eq_ignore_ascii_case(me.trim_start_matches('@'))
    {
        return Ok(None);
    }
    if name.is_empty() || name.len() > 32 || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(ParseError::BadName);
    }
    Ok(Some(ParsedCommand {
        name: name.to_ascii_lowercase(),
        raw: tail.trim().to_string(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> ParsedCommand {
        parse(text, Some("ChainsignalBot")).unwrap().unwrap()
    }

    #[test]
    fn commands_and_arguments() {
        assert_eq!(ok("/report BTC eth").name, "report");
        assert_eq!(ok("/report BTC eth").raw, "BTC eth");
        assert_eq!(ok("  /REPORT   btc,eth ,  sol ").raw, "btc,eth ,  sol");
        assert_eq!(ok("/REPORT,btc").raw, "btc");
        assert_eq!(ok("/help").raw, "");
        assert_eq!(ok("/report@chainsignalbot btc").raw, "btc");
        assert_eq!(ok("/schedule add x 0 6,16 * * *").raw, "add x 0 6,16 * * *");
    }

    #[test]
    fn not_for_us() {
        assert_eq!(parse("hello", None).unwrap(), None);
        assert_eq!(
            parse("/report@OtherBot btc", Some("ChainsignalBot")).unwrap(),
            None
        );
        assert_eq!(parse("", None).unwrap(), None);
    }

    #[test]
    fn garbage() {
        assert_eq!(parse("/", None), Err(ParseError::BadName));
        assert_eq!(parse("/<script>", None), Err(ParseError::BadName));
        assert_eq!(parse("/rep😀ort", None), Err(ParseError::BadName));
        assert_eq!(
            parse(&format!("/report {}", "x ".repeat(3000)), None),
            Err(ParseError::TooLong)
        );
    }
}
