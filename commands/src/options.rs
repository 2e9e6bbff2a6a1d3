//! Typed command options. A command declares its options once (in the registry); the
//! text form of Telegram and the console (`/open btc long 0.5 sl=60000`) and the typed
//! values of Discord's slash options are decoded here, by one decoder, into [`Args`].
//! Handlers never see raw strings.

use chainsignal_core::symbol::{MAX_REPORT_SYMBOLS, Symbol, SymbolError};
use rust_decimal::Decimal;
use secrecy::SecretString;
use std::str::FromStr;

/// Longest value of one option, in characters, before it is refused.
pub const MAX_VALUE_CHARS: usize = 512;

/// What an option holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionKind {
    /// One symbol (`btc`, `BTCUSDT`, `eth/btc`).
    Symbol,
    /// Zero or more symbols separated by spaces or commas; takes the remaining words.
    /// Words that cannot be symbols are kept apart, to be shown, not dropped.
    Symbols,
    /// A decimal number written with a dot: `0.5`, `250`, `-3.25`. No exponent, no
    /// thousands separator. `positive`: zero and negative numbers are refused.
    Decimal { positive: bool },
    /// A whole number within bounds.
    Integer { min: i64, max: i64 },
    /// One of a fixed set of words (compared without case).
    Choice(&'static [&'static str]),
    /// `30s`, `15m`, `2h`, `7d`, `1w`, at most `max_secs`.
    Duration { max_secs: i64 },
    /// A person on the platform: a Discord user option, a Telegram `@username`, a
    /// numeric id, or the author of the message replied to.
    User,
    /// One word.
    Word,
    /// The rest of the line as written (only as the last option).
    Text,
}

/// One option of a command, declared once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionSpec {
    /// Lower case ASCII, as Discord wants option names; also the `name=value` key.
    pub name: &'static str,
    pub kind: OptionKind,
    pub required: bool,
    /// Fluent key of the option's one-line description.
    pub description_key: &'static str,
    /// Offer completions (Discord autocomplete).
    pub autocomplete: bool,
    /// Never written to the audit log, never stored in a pending action; asked for
    /// privately (a modal, a private chat, a prompt without echo).
    pub secret: bool,
    /// Shortest and longest accepted value, in characters, when asked in a form.
    pub min_len: u16,
    pub max_len: u16,
    /// Accepted anywhere (unlike a secret) but written to the audit log as `***`: a
    /// one-time credential such as a link code.
    pub masked: bool,
    /// Only as `name=value` in text (see [`OptionSpec::named`]).
    pub named_only: bool,
}

impl OptionSpec {
    pub const fn new(name: &'static str, kind: OptionKind, description_key: &'static str) -> Self {
        Self {
            name,
            kind,
            required: false,
            description_key,
            autocomplete: false,
            secret: false,
            min_len: 0,
            max_len: MAX_VALUE_CHARS as u16,
            masked: false,
            named_only: false,
        }
    }

    /// The lengths a form accepts (a Discord modal enforces them as typed).
    pub const fn lengths(mut self, min: u16, max: u16) -> Self {
        self.min_len = min;
        self.max_len = max;
        self
    }

    pub const fn masked(mut self) -> Self {
        self.masked = true;
        self
    }

    pub const fn required(mut self) -> Self {
        self.required = true;
        self
    }

    pub const fn autocomplete(mut self) -> Self {
        self.autocomplete = true;
        self
    }

    pub const fn secret(mut self) -> Self {
        self.secret = true;
        self
    }

    /// Only as `name=value`, never filled from a bare word: an option after secrets
    /// (`/keys add binance KEY SECRET label=main`), so a misplaced secret cannot become a
    /// plain value that is audited.
    pub const fn named(mut self) -> Self {
        self.named_only = true;
        self
    }

    /// Whether this option takes the remaining words (positional form).
    fn greedy(&self) -> bool {
        matches!(self.kind, OptionKind::Symbols | OptionKind::Text)
    }
}

/// A sub-command (`/schedule add …`) with its own options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubSpec {
    pub name: &'static str,
    pub description_key: &'static str,
    pub options: &'static [OptionSpec],
}

/// A person named in a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserArg {
    /// The platform's id (a Discord snowflake, a Telegram user id).
    Id(String),
    /// A username without the `@` (Telegram).
    Username(String),
    /// A Chainsignal account by its number, written `#42` (any platform).
    Account(i64),
}

/// Symbols as asked: the valid ones, and what could not be a symbol (shown back).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SymbolList {
    pub symbols: Vec<Symbol>,
    pub invalid: Vec<(String, SymbolError)>,
}

/// One decoded value.
#[derive(Debug, Clone)]
pub enum Value {
    Symbol(Symbol),
    Symbols(SymbolList),
    Decimal(Decimal),
    Integer(i64),
    Choice(&'static str),
    Duration(chrono::Duration),
    User(UserArg),
    Text(String),
    /// A secret option's value: only ever held as a secret.
    Secret(SecretString),
}

/// What a handler receives: the sub-command and the typed values by option name.
#[derive(Debug, Clone, Default)]
pub struct Args {
    pub sub: Option<&'static str>,
    values: Vec<(&'static str, Value)>,
    /// Options written as `***` in the audit text ([`OptionSpec::masked`]).
    masked: Vec<&'static str>,
}

impl Args {
    /// These arguments with `name` set to `value` (replacing any): what a handler keeps
    /// with a Confirm button beyond what was typed (the venue a preview was for).
    pub fn with(mut self, name: &'static str, value: Value) -> Self {
        self.values.retain(|(n, _)| *n != name);
        self.values.push((name, value));
        self
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    pub fn symbol(&self, name: &str) -> Option<&Symbol> {
        match self.get(name) {
            Some(Value::Symbol(s)) => Some(s),
            _ => None,
        }
    }

    /// The symbols given (empty when none were).
    pub fn symbols(&self, name: &str) -> SymbolList {
        match self.get(name) {
            Some(Value::Symbols(s)) => s.clone(),
            _ => SymbolList::default(),
        }
    }

    pub fn decimal(&self, name: &str) -> Option<Decimal> {
        match self.get(name) {
            Some(Value::Decimal(d)) => Some(*d),
            _ => None,
        }
    }

    pub fn integer(&self, name: &str) -> Option<i64> {
        match self.get(name) {
            Some(Value::Integer(i)) => Some(*i),
            _ => None,
        }
    }

    pub fn choice(&self, name: &str) -> Option<&'static str> {
        match self.get(name) {
            Some(Value::Choice(c)) => Some(c),
            _ => None,
        }
    }

    pub fn duration(&self, name: &str) -> Option<chrono::Duration> {
        match self.get(name) {
            Some(Value::Duration(d)) => Some(*d),
            _ => None,
        }
    }

    pub fn user(&self, name: &str) -> Option<&UserArg> {
        match self.get(name) {
            Some(Value::User(u)) => Some(u),
            _ => None,
        }
    }

    pub fn text(&self, name: &str) -> Option<&str> {
        match self.get(name) {
            Some(Value::Text(t)) => Some(t),
            _ => None,
        }
    }

    pub fn secret(&self, name: &str) -> Option<&SecretString> {
        match self.get(name) {
            Some(Value::Secret(s)) => Some(s),
            _ => None,
        }
    }

    /// Whether no option has a value.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The values in their canonical text form, secrets left out: what a pending action
    /// stores, and what [`decode`] reads back into the same [`Args`].
    pub fn to_stored(&self) -> StoredArgs {
        StoredArgs {
            sub: self.sub.map(str::to_string),
            values: self
                .values
                .iter()
                .filter_map(|(name, value)| canonical(value).map(|v| ((*name).to_string(), v)))
                .collect(),
        }
    }

    /// Audit text: `name=value` pairs, secrets as `***`, at most 200 characters.
    pub fn audit_text(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        if let Some(sub) = self.sub {
            parts.push(sub.to_string());
        }
        for (name, value) in &self.values {
            let text = match value {
                Value::Secret(_) => "***".to_string(),
                _ if self.masked.contains(name) => "***".to_string(),
                other => canonical(other).unwrap_or_default(),
            };
            parts.push(format!("{name}={text}"));
        }
        parts.join(" ").chars().take(200).collect()
    }

    fn set(&mut self, name: &'static str, value: Value) {
        self.values.push((name, value));
    }

    fn has(&self, name: &str) -> bool {
        self.values.iter().any(|(n, _)| *n == name)
    }
}

/// [`Args`] in a form that can be stored (JSON) and decoded again.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredArgs {
    pub sub: Option<String>,
    pub values: Vec<(String, String)>,
}

impl StoredArgs {
    pub fn into_input(self) -> RawInput {
        RawInput::Named {
            sub: self.sub,
            values: self
                .values
                .into_iter()
                .map(|(n, v)| (n, RawValue::Text(v)))
                .collect(),
        }
    }
}

fn canonical(value: &Value) -> Option<String> {
    Some(match value {
        Value::Symbol(s) => s.to_string(),
        Value::Symbols(list) => list
            .symbols
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join(" "),
        Value::Decimal(d) => d.normalize().to_string(),
        Value::Integer(i) => i.to_string(),
        Value::Choice(c) => (*c).to_string(),
        Value::Duration(d) => duration_text(d.num_seconds()),
        Value::User(UserArg::Id(id)) => id.clone(),
        Value::User(UserArg::Username(u)) => format!("@{u}"),
        Value::User(UserArg::Account(n)) => format!("#{n}"),
        Value::Text(t) => t.clone(),
        Value::Secret(_) => return None,
    })
}

/// What the adapter received, before decoding. Its `Debug` shows the shape, never the
/// text (a private chat may carry a secret option in text form).
#[derive(Clone)]
pub enum RawInput {
    /// The text after the command word (Telegram, console), as written.
    Text(String),
    /// Values by option name (Discord's slash options; stored actions).
    Named {
        sub: Option<String>,
        values: Vec<(String, RawValue)>,
    },
}

impl std::fmt::Debug for RawInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RawInput::Text(t) => write!(f, "Text(<{} chars>)", t.chars().count()),
            RawInput::Named { sub, values } => f
                .debug_struct("Named")
                .field("sub", sub)
                .field(
                    "names",
                    &values.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
                )
                .finish(),
        }
    }
}

impl RawInput {
    pub fn empty() -> Self {
        RawInput::Text(String::new())
    }
}

/// One value as a platform typed it.
#[derive(Debug, Clone)]
pub enum RawValue {
    Text(String),
    Integer(i64),
    /// A platform's user option: the id, already resolved.
    User(String),
    /// A secret typed privately (a modal field).
    Secret(SecretString),
}

/// Why the input could not be decoded; each becomes a localized sentence followed by
/// the command's usage line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OptionError {
    /// A required option is missing.
    Missing {
        option: &'static str,
    },
    /// More words than the command takes.
    TooMany {
        extra: String,
    },
    /// The first word is not one of the sub-commands.
    UnknownSub {
        given: String,
    },
    /// `name=value` with a name the command does not have.
    UnknownName {
        given: String,
    },
    /// The same option twice.
    Repeated {
        option: &'static str,
    },
    BadDecimal {
        option: &'static str,
        given: String,
    },
    /// A decimal written with a comma (`1,000.5`, `0,5`).
    DecimalComma {
        option: &'static str,
        given: String,
    },
    NotPositive {
        option: &'static str,
        given: String,
    },
    BadInteger {
        option: &'static str,
        given: String,
        min: i64,
        max: i64,
    },
    BadChoice {
        option: &'static str,
        given: String,
        choices: &'static [&'static str],
    },
    BadDuration {
        option: &'static str,
        given: String,
        max_secs: i64,
    },
    BadSymbol {
        option: &'static str,
        given: String,
    },
    TooManySymbols {
        option: &'static str,
        got: usize,
    },
    BadUser {
        option: &'static str,
        given: String,
    },
    TooLong {
        option: &'static str,
    },
    /// A secret option may only come privately (a modal, a private chat).
    SecretInPublic {
        option: &'static str,
    },
}

impl OptionError {
    /// The Fluent key and its arguments.
    pub fn message(&self) -> (&'static str, Vec<(&'static str, String)>) {
        let cut = |s: &str| s.chars().take(40).collect::<String>();
        match self {
            OptionError::Missing { option } => ("option-missing", vec![("option", option.to_string())]),
            OptionError::TooMany { extra } => ("option-too-many", vec![("extra", cut(extra))]),
            OptionError::UnknownSub { given } => ("option-unknown-sub", vec![("given", cut(given))]),
            OptionError::UnknownName { given } => ("option-unknown-name", vec![("given", cut(given))]),
            OptionError::Repeated { option } => ("option-repeated", vec![("option", option.to_string())]),
            OptionError::BadDecimal { option, given } => (
                "option-bad-decimal",
                vec![("option", option.to_string()), ("given", cut(given))],
            ),
            OptionError::DecimalComma { option, given } => (
                "option-decimal-comma",
                vec![("option", option.to_string()), ("given", cut(given))],
            ),
            OptionError::NotPositive { option, given } => (
                "option-not-positive",
                vec![("option", option.to_string()), ("given", cut(given))],
            ),
            OptionError::BadInteger {
                option,
                given,
                min,
                max,
            } => (
                "option-bad-integer",
                vec![
                    ("option", option.to_string()),
                    ("given", cut(given)),
                    ("min", min.to_string()),
                    ("max", max.to_string()),
                ],
            ),
            OptionError::BadChoice {
                option,
                given,
                choices,
            } => (
                "option-bad-choice",
                vec![
                    ("option", option.to_string()),
                    ("given", cut(given)),
                    ("choices", choices.join(", ")),
                ],
            ),
            OptionError::BadDuration {
                option,
                given,
                max_secs,
            } => (
                "option-bad-duration",
                vec![
                    ("option", option.to_string()),
                    ("given", cut(given)),
                    ("max", format!("{}d", max_secs / 86_400)),
                ],
            ),
            OptionError::BadSymbol { option, given } => (
                "option-bad-symbol",
                vec![("option", option.to_string()), ("given", cut(given))],
            ),
            OptionError::TooManySymbols { option, got } => (
                "report-too-many-symbols",
                vec![
                    ("option", option.to_string()),
                    ("got", got.to_string()),
                    ("max", MAX_REPORT_SYMBOLS.to_string()),
                ],
            ),
            OptionError::BadUser { option, given } => (
                "option-bad-user",
                vec![("option", option.to_string()), ("given", cut(given))],
            ),
            OptionError::TooLong { option } => ("option-too-long", vec![("option", option.to_string())]),
            OptionError::SecretInPublic { option } => {
                ("option-secret-in-public", vec![("option", option.to_string())])
            }
        }
    }

    /// A stable code for the audit log.
    pub fn code(&self) -> &'static str {
        self.message().0
    }
}

/// What decoding needs to know besides the input.
#[derive(Debug, Clone, Copy)]
pub struct DecodeContext<'a> {
    /// Quote asset appended to bare symbols (`btc` -> BTCUSDT).
    pub quote: &'a str,
    /// The author of the message replied to, for a missing user option (Telegram).
    pub reply_to: Option<&'a str>,
    /// Whether secrets may come in this input (a private chat, a modal, the console).
    pub private: bool,
    /// The input is a pending action's stored arguments: symbols are already normalized
    /// (`ETHBTC` stays ETHBTC; it is not a bare asset to append the quote to).
    pub stored: bool,
}

/// The options of `sub` (or of the command when it has no sub-commands).
pub(crate) fn options_of(
    options: &'static [OptionSpec],
    subs: &'static [SubSpec],
    sub: Option<&str>,
) -> &'static [OptionSpec] {
    match sub {
        Some(name) => subs
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.options)
            .unwrap_or(&[]),
        None => options,
    }
}

/// Decode `input` against a command's options (and sub-commands: the first word, or the
/// `default_sub` when the input is empty).
pub fn decode(
    options: &'static [OptionSpec],
    subs: &'static [SubSpec],
    default_sub: Option<&'static str>,
    input: &RawInput,
    cx: DecodeContext<'_>,
) -> Result<Args, OptionError> {
    match input {
        RawInput::Text(text) => decode_text(options, subs, default_sub, text, cx),
        RawInput::Named { sub, values } => {
            let mut args = Args::default();
            if !subs.is_empty() {
                let wanted = sub.as_deref().or(default_sub).unwrap_or_default();
                let Some(found) = subs.iter().find(|s| s.name.eq_ignore_ascii_case(wanted)) else {
                    return Err(OptionError::UnknownSub {
                        given: wanted.to_string(),
                    });
                };
                args.sub = Some(found.name);
            }
            let specs = options_of(options, subs, args.sub);
            for (name, raw) in values {
                let Some(spec) = specs.iter().find(|s| s.name.eq_ignore_ascii_case(name)) else {
                    return Err(OptionError::UnknownName { given: name.clone() });
                };
                if args.has(spec.name) {
                    return Err(OptionError::Repeated { option: spec.name });
                }
                let value = match raw {
                    RawValue::Text(t) => decode_value(spec, t, cx)?,
                    RawValue::Integer(i) => decode_value(spec, &i.to_string(), cx)?,
                    RawValue::User(id) if spec.kind == OptionKind::User => {
                        Value::User(UserArg::Id(id.clone()))
                    }
                    RawValue::User(id) => decode_value(spec, id, cx)?,
                    RawValue::Secret(s) if spec.secret => Value::Secret(s.clone()),
                    RawValue::Secret(_) => return Err(OptionError::UnknownName { given: name.clone() }),
                };
                args.set(spec.name, value);
            }
            finish(specs, args, cx)
        }
    }
}

fn decode_text(
    options: &'static [OptionSpec],
    subs: &'static [SubSpec],
    default_sub: Option<&'static str>,
    text: &str,
    cx: DecodeContext<'_>,
) -> Result<Args, OptionError> {
    // Words with their byte offsets (char boundaries, from split_whitespace).
    let mut words: Vec<(usize, &str)> = text
        .split_whitespace()
        .map(|w| (w.as_ptr() as usize - text.as_ptr() as usize, w))
        .collect();
    let mut args = Args::default();
    if !subs.is_empty() {
        let chosen = match words.first() {
            Some((_, first)) => match subs.iter().find(|s| s.name.eq_ignore_ascii_case(first)) {
                Some(s) => {
                    words.remove(0);
                    s.name
                }
                None => {
                    return Err(OptionError::UnknownSub {
                        given: (*first).to_string(),
                    });
                }
            },
            None => match default_sub {
                Some(d) => d,
                None => return Err(OptionError::UnknownSub { given: String::new() }),
            },
        };
        args.sub = Some(chosen);
    }
    let specs = options_of(options, subs, args.sub);
    // A secret option given in public is refused by name, never echoed.
    let mut positional = specs.iter();
    let mut pending: Option<&'static OptionSpec> = None;
    let mut greedy_words: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let (offset, word) = words[i];
        i += 1;
        // `name=value` names an option (not inside a greedy text option).
        if let Some((key, value)) = word.split_once('=')
            && !key.is_empty()
            && let Some(spec) = specs.iter().find(|s| s.name.eq_ignore_ascii_case(key))
            && !pending.is_some_and(|p| p.kind == OptionKind::Text)
        {
            if args.has(spec.name) || pending.is_some_and(|p| p.name == spec.name) {
                return Err(OptionError::Repeated { option: spec.name });
            }
            if spec.secret && !cx.private {
                return Err(OptionError::SecretInPublic { option: spec.name });
            }
            if spec.kind == OptionKind::Text {
                // `name=` then the rest of the line, as written.
                let start = offset + key.len() + 1;
                args.set(spec.name, decode_value(spec, text[start..].trim_end(), cx)?);
                i = words.len();
                continue;
            }
            args.set(spec.name, decode_value(spec, value, cx)?);
            continue;
        }
        if let Some(p) = pending {
            if p.kind == OptionKind::Text {
                // The rest of the line, as written.
                let rest = text[offset..].trim_end();
                greedy_words.clear();
                args.set(p.name, decode_value(p, rest, cx)?);
                pending = None;
                i = words.len();
                continue;
            }
            greedy_words.push(word);
            continue;
        }
        let Some(spec) = positional.by_ref().find(|s| !s.named_only && !args.has(s.name)) else {
            return Err(OptionError::TooMany {
                extra: word.to_string(),
            });
        };
        if spec.greedy() {
            pending = Some(spec);
            i -= 1;
            continue;
        }
        args.set(spec.name, decode_value(spec, word, cx)?);
    }
    if let Some(p) = pending
        && !greedy_words.is_empty()
    {
        args.set(p.name, decode_value(p, &greedy_words.join(" "), cx)?);
    }
    finish(specs, args, cx)
}

/// Fill a missing user option from the message replied to; refuse missing required ones.
fn finish(specs: &'static [OptionSpec], mut args: Args, cx: DecodeContext<'_>) -> Result<Args, OptionError> {
    for spec in specs {
        if spec.masked && args.has(spec.name) {
            args.masked.push(spec.name);
        }
        if args.has(spec.name) {
            continue;
        }
        if spec.kind == OptionKind::User
            && let Some(id) = cx.reply_to
        {
            args.set(spec.name, Value::User(UserArg::Id(id.to_string())));
            continue;
        }
        if spec.required {
            return Err(OptionError::Missing { option: spec.name });
        }
    }
    Ok(args)
}

/// Decode one value of `spec` from text.
pub fn decode_value(spec: &OptionSpec, given: &str, cx: DecodeContext<'_>) -> Result<Value, OptionError> {
    let option = spec.name;
    let given = given.trim();
    if given.chars().count() > MAX_VALUE_CHARS {
        return Err(OptionError::TooLong { option });
    }
    if spec.secret {
        if !cx.private {
            return Err(OptionError::SecretInPublic { option });
        }
        return Ok(Value::Secret(SecretString::from(given.to_string())));
    }
    let owned = || given.to_string();
    match spec.kind {
        OptionKind::Symbol => {
            parse_symbol(given, cx)
                .map(Value::Symbol)
                .map_err(|_| OptionError::BadSymbol {
                    option,
                    given: owned(),
                })
        }
        OptionKind::Symbols => {
            let words: Vec<&str> = given
                .split(|c: char| c.is_whitespace() || c == ',')
                .filter(|w| !w.is_empty())
                .collect();
            if words.len() > MAX_REPORT_SYMBOLS {
                return Err(OptionError::TooManySymbols {
                    option,
                    got: words.len(),
                });
            }
            let mut list = SymbolList::default();
            for w in words {
                match parse_symbol(w, cx) {
                    Ok(s) if !list.symbols.contains(&s) => list.symbols.push(s),
                    Ok(_) => {}
                    Err(e) => list.invalid.push((w.chars().take(24).collect(), e)),
                }
            }
            Ok(Value::Symbols(list))
        }
        OptionKind::Decimal { positive } => {
            let d = parse_decimal(given).map_err(|comma| {
                if comma {
                    OptionError::DecimalComma {
                        option,
                        given: owned(),
                    }
                } else {
                    OptionError::BadDecimal {
                        option,
                        given: owned(),
                    }
                }
            })?;
            if positive && d <= Decimal::ZERO {
                return Err(OptionError::NotPositive {
                    option,
                    given: owned(),
                });
            }
            Ok(Value::Decimal(d))
        }
        OptionKind::Integer { min, max } => {
            let bad = || OptionError::BadInteger {
                option,
                given: owned(),
                min,
                max,
            };
            if !is_plain_integer(given) {
                return Err(bad());
            }
            match given.parse::<i64>() {
                Ok(i) if (min..=max).contains(&i) => Ok(Value::Integer(i)),
                _ => Err(bad()),
            }
        }
        OptionKind::Choice(choices) => choices
            .iter()
            .find(|c| c.eq_ignore_ascii_case(given))
            .map(|c| Value::Choice(c))
            .ok_or(OptionError::BadChoice {
                option,
                given: owned(),
                choices,
            }),
        OptionKind::Duration { max_secs } => parse_duration(given)
            .filter(|s| *s > 0 && *s <= max_secs)
            .map(|s| Value::Duration(chrono::Duration::seconds(s)))
            .ok_or(OptionError::BadDuration {
                option,
                given: owned(),
                max_secs,
            }),
        OptionKind::User => parse_user(given).map(Value::User).ok_or(OptionError::BadUser {
            option,
            given: owned(),
        }),
        OptionKind::Word if given.is_empty() => Err(OptionError::Missing { option }),
        OptionKind::Word => match given.split_whitespace().nth(1) {
            Some(extra) => Err(OptionError::TooMany {
                extra: extra.to_string(),
            }),
            None => Ok(Value::Text(owned())),
        },
        OptionKind::Text => Ok(Value::Text(owned())),
    }
}

/// A symbol as typed, or as stored: a stored one is the normal form an earlier decode
/// produced (`ETHBTC`, a 20-character pair), taken as it is, never re-quoted.
fn parse_symbol(given: &str, cx: DecodeContext<'_>) -> Result<Symbol, SymbolError> {
    if cx.stored {
        return Symbol::parse_normalized(given);
    }
    Symbol::parse(given, cx.quote)
}

/// `-12`, `7`: an optional minus and ASCII digits.
fn is_plain_integer(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    !digits.is_empty() && digits.len() <= 19 && digits.bytes().all(|b| b.is_ascii_digit())
}

/// A decimal with a dot; `Err(true)` when a comma shows the writer meant a separator.
fn parse_decimal(s: &str) -> Result<Decimal, bool> {
    if s.contains(',') {
        return Err(true);
    }
    let unsigned = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (int, frac) = match unsigned.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (unsigned, None),
    };
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    let shape_ok = digits(int) && frac.is_none_or(digits);
    // 28 digits is what a Decimal holds exactly.
    if !shape_ok || int.len() + frac.map_or(0, str::len) > 28 {
        return Err(false);
    }
    Decimal::from_str(s).map_err(|_| false)
}

/// The shortest exact text of a duration: 1209600 -> `2w`, 90 -> `90s`.
fn duration_text(secs: i64) -> String {
    for (unit, size) in [('w', 604_800), ('d', 86_400), ('h', 3_600), ('m', 60)] {
        if secs != 0 && secs % size == 0 {
            return format!("{}{unit}", secs / size);
        }
    }
    format!("{secs}s")
}

/// `15m` -> 900. Units: s, m, h, d, w.
fn parse_duration(s: &str) -> Option<i64> {
    let lower = s.to_ascii_lowercase();
    let unit = lower.chars().last()?;
    let number = lower.strip_suffix(unit)?;
    if number.is_empty() || number.len() > 9 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: i64 = number.parse().ok()?;
    let factor = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        'w' => 604_800,
        _ => return None,
    };
    n.checked_mul(factor)
}

/// `@name` (5-32 letters, digits, underscores, as Telegram allows), a numeric id, or a
/// Discord mention `<@123>` / `<@!123>`.
fn parse_user(s: &str) -> Option<UserArg> {
    if let Some(n) = s.strip_prefix('#') {
        let ok = (1..=18).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit());
        return ok.then(|| n.parse().ok().map(UserArg::Account)).flatten();
    }
    if let Some(name) = s.strip_prefix('@') {
        let ok =
            (5..=32).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        return ok.then(|| UserArg::Username(name.to_string()));
    }
    let inner = s
        .strip_prefix("<@")
        .and_then(|r| r.strip_suffix('>'))
        .map(|r| r.trim_start_matches('!'))
        .unwrap_or(s);
    let ok = (1..=20).contains(&inner.len()) && inner.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| UserArg::Id(inner.to_string()))
}

/// The usage line of a command (or sub-command): `/name sub <required> [optional]`.
pub fn usage(command: &str, sub: Option<&str>, options: &[OptionSpec]) -> String {
    let mut out = format!("/{command}");
    if let Some(sub) = sub {
        out.push(' ');
        out.push_str(sub);
    }
    for o in options {
        let name = match o.kind {
            OptionKind::Symbols | OptionKind::Text => format!("{}…", o.name),
            OptionKind::Choice(c) if c.len() <= 4 => c.join("|"),
            _ if o.named_only => format!("{}=…", o.name),
            _ => o.name.to_string(),
        };
        out.push(' ');
        if o.required {
            out.push_str(&format!("<{name}>"));
        } else {
            out.push_str(&format!("[{name}]"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    const CX: DecodeContext<'static> = DecodeContext {
        quote: "USDT",
        reply_to: None,
        private: false,
        stored: false,
    };

    const OPEN: &[OptionSpec] = &[
        OptionSpec::new("symbol", OptionKind::Symbol, "d").required(),
        OptionSpec::new("side", OptionKind::Choice(&["long", "short"]), "d").required(),
        OptionSpec::new("size", OptionKind::Decimal { positive: true }, "d").required(),
        OptionSpec::new("sl", OptionKind::Decimal { positive: true }, "d"),
        OptionSpec::new("lev", OptionKind::Integer { min: 1, max: 20 }, "d"),
    ];

    fn text(options: &'static [OptionSpec], s: &str) -> Result<Args, OptionError> {
        decode(options, &[], None, &RawInput::Text(s.into()), CX)
    }

    #[test]
    fn positional_and_named_forms() {
        let a = text(OPEN, "btc LONG 0.5 sl=60000.5 lev=3").unwrap();
        assert_eq!(a.symbol("symbol").unwrap().as_str(), "BTCUSDT");
        assert_eq!(a.choice("side"), Some("long"));
        assert_eq!(a.decimal("size"), Some(Decimal::from_str("0.5").unwrap()));
        assert_eq!(a.decimal("sl"), Some(Decimal::from_str("60000.5").unwrap()));
        assert_eq!(a.integer("lev"), Some(3));
        let b = text(OPEN, "size=0.5 side=short symbol=eth").unwrap();
        assert_eq!(b.choice("side"), Some("short"));
        assert_eq!(b.symbol("symbol").unwrap().as_str(), "ETHUSDT");
    }

    #[test]
    fn decimals_are_strict() {
        for bad in ["1e3", "NaN", "inf", "0x10", "1.", ".5", "--1", "1.2.3", "", "٣"] {
            assert!(
                matches!(
                    text(OPEN, &format!("btc long {bad}")),
                    Err(OptionError::BadDecimal { .. } | OptionError::Missing { .. })
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            text(OPEN, "btc long 1,000.5"),
            Err(OptionError::DecimalComma { .. })
        ));
        assert!(matches!(
            text(OPEN, "btc long 0"),
            Err(OptionError::NotPositive { .. })
        ));
        assert!(matches!(
            text(OPEN, "btc long -1"),
            Err(OptionError::NotPositive { .. })
        ));
        assert!(matches!(
            text(OPEN, &format!("btc long {}", "9".repeat(40))),
            Err(OptionError::BadDecimal { .. })
        ));
    }

    #[test]
    fn errors_name_the_problem() {
        assert_eq!(
            text(OPEN, "btc long").unwrap_err(),
            OptionError::Missing { option: "size" }
        );
        assert!(matches!(
            text(OPEN, "btc sideways 1"),
            Err(OptionError::BadChoice { .. })
        ));
        assert!(matches!(
            text(OPEN, "btc long 1 2 3 4"),
            Err(OptionError::TooMany { .. })
        ));
        assert!(matches!(
            text(OPEN, "btc long 1 lev=99"),
            Err(OptionError::BadInteger { .. })
        ));
        assert!(matches!(
            text(OPEN, "btc long 1 lev=+3"),
            Err(OptionError::BadInteger { .. })
        ));
        assert!(matches!(
            text(OPEN, "btc long 1 sl=1 sl=2"),
            Err(OptionError::Repeated { .. })
        ));
        assert!(matches!(
            text(OPEN, "$$ long 1"),
            Err(OptionError::BadSymbol { .. })
        ));
    }

    #[test]
    fn durations_users_and_text() {
        const OPTS: &[OptionSpec] = &[
            OptionSpec::new("who", OptionKind::User, "d").required(),
            OptionSpec::new(
                "for",
                OptionKind::Duration {
                    max_secs: 30 * 86_400,
                },
                "d",
            ),
            OptionSpec::new("reason", OptionKind::Text, "d"),
        ];
        let a = text(OPTS, "@some_one 15m spamming the   chat").unwrap();
        assert_eq!(a.user("who"), Some(&UserArg::Username("some_one".into())));
        assert_eq!(a.duration("for"), Some(chrono::Duration::minutes(15)));
        assert_eq!(a.text("reason"), Some("spamming the   chat"));
        assert_eq!(
            text(OPTS, "<@!1234> 7d").unwrap().user("who"),
            Some(&UserArg::Id("1234".into()))
        );
        assert!(matches!(
            text(OPTS, "@xxxxx 31d"),
            Err(OptionError::BadDuration { .. })
        ));
        assert!(matches!(
            text(OPTS, "@xxxxx 10y"),
            Err(OptionError::BadDuration { .. })
        ));
        let reply = DecodeContext {
            reply_to: Some("42"),
            ..CX
        };
        let from_reply = decode(OPTS, &[], None, &RawInput::Text("".into()), reply).unwrap();
        assert_eq!(from_reply.user("who"), Some(&UserArg::Id("42".into())));
    }

    #[test]
    fn symbols_keep_what_is_not_a_symbol() {
        const OPTS: &[OptionSpec] = &[OptionSpec::new("symbols", OptionKind::Symbols, "d")];
        let a = text(OPTS, "btc, eth  $$$ btc").unwrap();
        let list = a.symbols("symbols");
        assert_eq!(list.symbols.len(), 2);
        assert_eq!(list.invalid.len(), 1);
        assert!(text(OPTS, "").unwrap().symbols("symbols").symbols.is_empty());
        assert!(matches!(
            text(OPTS, &"btc ".repeat(21)),
            Err(OptionError::TooManySymbols { .. })
        ));
    }

    #[test]
    fn sub_commands_and_round_trip() {
        const ADD: &[OptionSpec] = &[
            OptionSpec::new("name", OptionKind::Word, "d").required(),
            OptionSpec::new("definition", OptionKind::Text, "d").required(),
        ];
        const SUBS: &[SubSpec] = &[
            SubSpec {
                name: "list",
                description_key: "d",
                options: &[],
            },
            SubSpec {
                name: "add",
                description_key: "d",
                options: ADD,
            },
        ];
        let input = RawInput::Text("ADD daily 0 6,16 * * * Europe/Warsaw".into());
        let a = decode(&[], SUBS, Some("list"), &input, CX).unwrap();
        assert_eq!(a.sub, Some("add"));
        assert_eq!(a.text("definition"), Some("0 6,16 * * * Europe/Warsaw"));
        let stored = serde_json::to_string(&a.to_stored()).unwrap();
        let back: StoredArgs = serde_json::from_str(&stored).unwrap();
        let b = decode(&[], SUBS, Some("list"), &back.into_input(), CX).unwrap();
        assert_eq!(b.text("definition"), a.text("definition"));
        assert_eq!(b.text("name"), Some("daily"));
        let empty = decode(&[], SUBS, Some("list"), &RawInput::empty(), CX).unwrap();
        assert_eq!(empty.sub, Some("list"));
        assert!(matches!(
            decode(&[], SUBS, Some("list"), &RawInput::Text("frobnicate".into()), CX),
            Err(OptionError::UnknownSub { .. })
        ));
    }

    #[test]
    fn masked_options_are_taken_anywhere_and_audited_as_stars() {
        const CODE: &[OptionSpec] = &[OptionSpec::new("code", OptionKind::Word, "d").masked()];
        let a = text(CODE, "ABCDEFGHJK").unwrap();
        assert_eq!(a.text("code"), Some("ABCDEFGHJK"));
        assert_eq!(a.audit_text(), "code=***");
    }

    #[test]
    fn secrets_only_in_private_and_never_audited() {
        const OPTS: &[OptionSpec] = &[
            OptionSpec::new("label", OptionKind::Word, "d").required(),
            OptionSpec::new("secret", OptionKind::Word, "d")
                .secret()
                .required(),
        ];
        assert!(matches!(
            text(OPTS, "main s3cr3t"),
            Err(OptionError::Missing { .. } | OptionError::SecretInPublic { .. })
        ));
        let private = DecodeContext { private: true, ..CX };
        let a = decode(OPTS, &[], None, &RawInput::Text("main s3cr3t".into()), private).unwrap();
        assert_eq!(a.secret("secret").unwrap().expose_secret(), "s3cr3t");
        assert!(!a.audit_text().contains("s3cr3t"));
        assert!(a.audit_text().contains("secret=***"));
        assert!(!serde_json::to_string(&a.to_stored()).unwrap().contains("s3cr3t"));
    }

    #[test]
    fn usage_lines() {
        assert_eq!(
            usage("open", None, OPEN),
            "/open <symbol> <long|short> <size> [sl] [lev]"
        );
    }

    #[test]
    fn review_fixes_hold() {
        const SYMBOLS: &[OptionSpec] = &[OptionSpec::new("symbols", OptionKind::Symbols, "d")];
        assert!(matches!(
            text(SYMBOLS, "btc symbols=eth"),
            Err(OptionError::Repeated { .. })
        ));
        // A stored pair stays the pair it was.
        let stored = DecodeContext { stored: true, ..CX };
        let input = RawInput::Named {
            sub: None,
            values: vec![("symbols".into(), RawValue::Text("ETHBTC BTCUSDT".into()))],
        };
        let list = decode(SYMBOLS, &[], None, &input, stored)
            .unwrap()
            .symbols("symbols");
        let names: Vec<&str> = list.symbols.iter().map(|s| s.as_str()).collect();
        assert_eq!(names, ["ETHBTC", "BTCUSDT"]);
        // A long pair that does not end in a known quote (found by the fuzzer).
        const ONE: &[OptionSpec] = &[OptionSpec::new("symbol", OptionKind::Symbol, "d")];
        let typed = text(ONE, "zZDn-gy8854509944774S").unwrap();
        let again = decode(ONE, &[], None, &typed.to_stored().into_input(), stored).unwrap();
        assert_eq!(again.symbol("symbol"), typed.symbol("symbol"));
        // Durations survive being stored, whatever their length.
        const FOR: &[OptionSpec] = &[OptionSpec::new(
            "for",
            OptionKind::Duration {
                max_secs: 400 * 86_400,
            },
            "d",
        )];
        for given in ["2w", "1000001s", "90s", "36h"] {
            let a = text(FOR, given).unwrap();
            let again = decode(FOR, &[], None, &a.to_stored().into_input(), stored).unwrap();
            assert_eq!(again.duration("for"), a.duration("for"), "{given}");
        }
        assert_eq!(duration_text(1_209_600), "2w");
        assert_eq!(duration_text(129_600), "36h");
        // An empty word is missing, not "too many"; a named text takes the rest.
        const NAMED: &[OptionSpec] = &[
            OptionSpec::new("name", OptionKind::Word, "d").required(),
            OptionSpec::new("definition", OptionKind::Text, "d"),
        ];
        assert_eq!(
            text(NAMED, "name=").unwrap_err(),
            OptionError::Missing { option: "name" }
        );
        let a = text(NAMED, "x definition=0 6 * * * UTC").unwrap();
        assert_eq!(a.text("definition"), Some("0 6 * * * UTC"));
        // Telegram usernames have 5 to 32 characters; the text form never shows in Debug.
        const WHO: &[OptionSpec] = &[OptionSpec::new("who", OptionKind::User, "d")];
        assert!(matches!(text(WHO, "@abc"), Err(OptionError::BadUser { .. })));
        assert!(format!("{:?}", RawInput::Text("secret words".into())).contains("<12 chars>"));
    }
}
