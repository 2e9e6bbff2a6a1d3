//! Private input: a command whose options include secrets (an API secret) asks for them
//! privately instead of answering. The adapter asks [`crate::Commands::private_form`]
//! first; when it gets a [`PrivateForm`] it shows it natively (a Discord modal, a prompt
//! without echo at the console) and sends the submission back as an ordinary
//! [`crate::Invocation`] whose input is [`RawInput::Named`] with the secret fields as
//! [`RawValue::Secret`] (built by [`crate::Commands::form_submission`]). The form's id
//! carries the command and the non-secret arguments already given, never a secret.

use crate::options::{self, OptionKind, OptionSpec, RawInput, RawValue};
use crate::registry::{self, CommandSpec};
use secrecy::{ExposeSecret, SecretString};

/// Longest form id (Discord's `custom_id` limit).
pub const MAX_FORM_ID: usize = 100;
const PREFIX: &str = "f:";

/// One field of a private form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormField {
    /// The option's name: the field's id, and the name its value comes back under.
    pub name: &'static str,
    /// Localized label.
    pub label: String,
    pub required: bool,
    /// A secret: asked without echo, never logged, held as a `SecretString`.
    pub secret: bool,
    /// Lengths in characters.
    pub min_len: u16,
    pub max_len: u16,
    /// A paragraph rather than one line.
    pub multiline: bool,
}

/// What an adapter shows to ask for a command's secrets. Holds no secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivateForm {
    /// Localized title.
    pub title: String,
    /// The id to give the form (Discord `custom_id`): the command, its sub-command and
    /// the non-secret arguments already given. At most [`MAX_FORM_ID`] bytes.
    pub id: String,
    pub fields: Vec<FormField>,
}

/// Whether a platform id names a private form (`f:…`).
pub fn is_form_id(id: &str) -> bool {
    id.starts_with(PREFIX)
}

/// The options of the sub-command named in `input` (or of the command).
pub(crate) fn named_options(spec: &'static CommandSpec, input: &RawInput) -> &'static [OptionSpec] {
    if spec.subs.is_empty() {
        return spec.options;
    }
    let named = match input {
        RawInput::Text(t) => t.split_whitespace().next(),
        RawInput::Named { sub, .. } => sub.as_deref(),
    }
    .or(spec.default_sub);
    match named.and_then(|n| spec.subs.iter().find(|s| s.name.eq_ignore_ascii_case(n))) {
        Some(sub) => sub.options,
        None => &[],
    }
}

/// Whether this command takes secrets in any of its forms: a Telegram message naming it
/// may hold one (whatever sub-command it names, even a misspelled one) and is deleted.
/// `_input` is kept for the adapters' call; the answer depends on the command only.
pub fn takes_secrets(command: &str, _input: &RawInput) -> bool {
    registry::find(command).is_some_and(command_takes_secrets)
}

/// Whether any option of the command or of one of its sub-commands is a secret. Such a
/// command never echoes what was typed in an error (it could be the secret, misplaced).
pub fn command_takes_secrets(spec: &CommandSpec) -> bool {
    spec.options.iter().any(|o| o.secret) || spec.subs.iter().any(|s| s.options.iter().any(|o| o.secret))
}

/// Escape a value for the form id: letters, digits, `-`, `_`, `.` as they are; every
/// other byte as `%XX`.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn unescape(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = value.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// `f:<command>:<sub or empty>:<name>=<value>;…`
pub(crate) fn form_id(command: &str, sub: Option<&str>, carried: &[(String, String)]) -> String {
    let values: Vec<String> = carried
        .iter()
        .map(|(n, v)| format!("{}={}", escape(n), escape(v)))
        .collect();
    format!("{PREFIX}{command}:{}:{}", sub.unwrap_or(""), values.join(";"))
}

/// What a form id names: the command, its sub-command, the values carried.
type FormTarget = (&'static CommandSpec, Option<String>, Vec<(String, String)>);

/// The command, sub-command and carried values of a form id.
pub(crate) fn parse_form_id(id: &str) -> Option<FormTarget> {
    let rest = id.strip_prefix(PREFIX)?;
    let mut parts = rest.splitn(3, ':');
    let spec = registry::find(parts.next()?)?;
    let sub = parts.next().filter(|s| !s.is_empty()).map(str::to_string);
    let mut carried = Vec::new();
    for pair in parts.next().unwrap_or("").split(';').filter(|p| !p.is_empty()) {
        let (n, v) = pair.split_once('=')?;
        carried.push((unescape(n)?, unescape(v)?));
    }
    Some((spec, sub, carried))
}

/// The input of a submitted form: carried values as text, each field as the option
/// declares it (secrets stay secret), empty optional fields left out. `None` when the
/// id is not a form's, or a field is not one of the command's options.
pub(crate) fn submission(id: &str, fields: Vec<(String, SecretString)>) -> Option<(String, RawInput)> {
    let (spec, sub, carried) = parse_form_id(id)?;
    let specs = options::options_of(
        spec.options,
        spec.subs,
        sub.as_deref()
            .and_then(|s| spec.subs.iter().find(|x| x.name == s).map(|x| x.name)),
    );
    let mut values: Vec<(String, RawValue)> =
        carried.into_iter().map(|(n, v)| (n, RawValue::Text(v))).collect();
    for (name, value) in fields {
        let option = specs.iter().find(|o| o.name == name)?;
        if value.expose_secret().trim().is_empty() {
            continue;
        }
        let raw = if option.secret {
            RawValue::Secret(SecretString::from(value.expose_secret().trim().to_string()))
        } else {
            RawValue::Text(value.expose_secret().to_string())
        };
        values.push((name, raw));
    }
    Some((spec.name.to_string(), RawInput::Named { sub, values }))
}

/// Whether a non-secret option may be asked in a form (free text, not a typed choice).
pub(crate) fn askable(option: &OptionSpec) -> bool {
    option.secret || matches!(option.kind, OptionKind::Word | OptionKind::Text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_ids_carry_values_and_round_trip() {
        let id = form_id(
            "keys",
            Some("add"),
            &[
                ("exchange".into(), "binance-testnet".into()),
                ("label".into(), "a b;c=d%".into()),
            ],
        );
        assert_eq!(id, "f:keys:add:exchange=binance-testnet;label=a%20b%3Bc%3Dd%25");
        let (spec, sub, carried) = parse_form_id(&id).unwrap();
        assert_eq!(spec.name, "keys");
        assert_eq!(sub.as_deref(), Some("add"));
        assert_eq!(carried[1], ("label".into(), "a b;c=d%".into()));
        assert!(parse_form_id("f:nope::").is_none());
        assert!(parse_form_id("a:keys::").is_none());
        assert!(parse_form_id("f:keys:add:label=%4").is_none());
    }

    #[test]
    fn submissions_keep_secrets_secret() {
        let id = form_id("keys", Some("add"), &[("exchange".into(), "binance".into())]);
        let (command, input) = submission(
            &id,
            vec![
                ("api_key".into(), SecretString::from("K".repeat(20))),
                ("secret".into(), SecretString::from("S".repeat(20))),
                ("label".into(), SecretString::from(String::new())),
            ],
        )
        .unwrap();
        assert_eq!(command, "keys");
        let RawInput::Named { sub, values } = input else {
            panic!("named input");
        };
        assert_eq!(sub.as_deref(), Some("add"));
        let names: Vec<&str> = values.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["exchange", "api_key", "secret"],
            "an empty optional field is left out"
        );
        assert!(matches!(values[1].1, RawValue::Secret(_)));
        assert!(!format!("{values:?}").contains("SSSS"));
        assert!(submission(&id, vec![("nope".into(), SecretString::from("x".to_string()))]).is_none());
    }
}
