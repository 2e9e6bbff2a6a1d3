//! Localization with Fluent: every user-facing sentence comes from `locales/<lang>/`.

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    #[default]
    En,
    Pl,
}

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::En, Locale::Pl];

    pub fn code(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Pl => "pl",
        }
    }

    /// From a language tag as platforms send it: `pl`, `pl-PL`, `en-US`, `EN`.
    pub fn from_tag(tag: &str) -> Option<Self> {
        let primary = tag.split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Locale::En),
            "pl" => Some(Locale::Pl),
            _ => None,
        }
    }

    /// The decimal separator of numbers shown to people.
    pub fn decimal_separator(self) -> char {
        match self {
            Locale::En => '.',
            Locale::Pl => ',',
        }
    }

    /// Integer digits from which thousands are grouped (Polish leaves 1234 alone).
    pub fn group_from_digits(self) -> usize {
        match self {
            Locale::En => 4,
            Locale::Pl => 5,
        }
    }

    /// The thousands separator of numbers shown to people.
    pub fn group_separator(self) -> char {
        match self {
            Locale::En => ',',
            Locale::Pl => ' ',
        }
    }
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

const SOURCES: [(Locale, &str); 2] = [
    (Locale::En, include_str!("../../locales/en/chainsignal.ftl")),
    (Locale::Pl, include_str!("../../locales/pl/chainsignal.ftl")),
];

/// The loaded translations. Cheap to share (`Arc`), safe across threads.
pub struct I18n {
    bundles: Vec<(Locale, FluentBundle<FluentResource>)>,
}

impl fmt::Debug for I18n {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("I18n").finish_non_exhaustive()
    }
}

impl Default for I18n {
    fn default() -> Self {
        Self::new()
    }
}

impl I18n {
    /// Load the embedded `.ftl` files. They are checked by the tests, so a broken file
    /// fails the build's tests rather than a chat.
    pub fn new() -> Self {
        let bundles = SOURCES
            .iter()
            .map(|(locale, source)| {
                let resource =
                    FluentResource::try_new(source.to_string()).unwrap_or_else(|(resource, errors)| {
                        tracing::error!(%locale, ?errors, "errors in a locale file");
                        resource
                    });
                let langid = locale.code().parse().unwrap_or_default();
                let mut bundle = FluentBundle::new_concurrent(vec![langid]);
                // Unicode isolation marks would show up as junk in consoles and tables.
                bundle.set_use_isolating(false);
                if let Err(errors) = bundle.add_resource(resource) {
                    tracing::error!(%locale, ?errors, "duplicate messages in a locale file");
                }
                (*locale, bundle)
            })
            .collect();
        Self { bundles }
    }

    fn bundle(&self, locale: Locale) -> &FluentBundle<FluentResource> {
        self.bundles
            .iter()
            .find(|(l, _)| *l == locale)
            .or_else(|| self.bundles.first())
            .map(|(_, b)| b)
            .expect("at least one locale is embedded")
    }

    /// The message `key` in `locale`, with string arguments. A missing message falls
    /// back to English, then to the key itself (and is logged).
    pub fn tr(&self, locale: Locale, key: &str, args: &[(&str, &str)]) -> String {
        let mut fargs = FluentArgs::new();
        for (name, value) in args {
            fargs.set(*name, *value);
        }
        for l in [locale, Locale::En] {
            let bundle = self.bundle(l);
            if let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) {
                let mut errors = Vec::new();
                let text = bundle.format_pattern(pattern, Some(&fargs), &mut errors);
                if !errors.is_empty() {
                    tracing::warn!(key, %l, ?errors, "formatting a message");
                }
                return text.into_owned();
            }
        }
        tracing::error!(key, %locale, "missing message");
        key.to_string()
    }

    pub fn t(&self, locale: Locale, key: &str) -> String {
        self.tr(locale, key, &[])
    }

    /// The message ids of one locale (for tests that compare locales).
    pub fn message_ids(locale: Locale) -> Vec<String> {
        let source = SOURCES
            .iter()
            .find(|(l, _)| *l == locale)
            .map(|(_, s)| *s)
            .unwrap_or("");
        let resource = match FluentResource::try_new(source.to_string()) {
            Ok(r) => r,
            Err((r, _)) => r,
        };
        let mut ids: Vec<String> = resource
            .entries()
            .filter_map(|e| match e {
                fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_string()),
                _ => None,
            })
            .collect();
        ids.sort();
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locale_files_parse_and_have_the_same_messages() {
        for (locale, source) in SOURCES {
            if let Err((_, errors)) = FluentResource::try_new(source.to_string()) {
                panic!("{locale}: {errors:?}");
            }
        }
        let en = I18n::message_ids(Locale::En);
        let pl = I18n::message_ids(Locale::Pl);
        assert!(en.len() > 20);
        assert_eq!(en, pl, "locales/en and locales/pl must define the same messages");
    }

    #[test]
    fn translates_with_arguments_and_falls_back() {
        let i18n = I18n::new();
        assert_eq!(
            i18n.tr(Locale::En, "error-unknown-command", &[("command", "foo")]),
            "Unknown command /foo. Send /help for the list."
        );
        assert!(i18n.t(Locale::Pl, "lang-set").contains("polski"));
        assert_eq!(i18n.t(Locale::Pl, "no-such-key"), "no-such-key");
    }

    #[test]
    fn language_tags() {
        assert_eq!(Locale::from_tag("pl-PL"), Some(Locale::Pl));
        assert_eq!(Locale::from_tag("en_US"), Some(Locale::En));
        assert_eq!(Locale::from_tag("EN"), Some(Locale::En));
        assert_eq!(Locale::from_tag("de"), None);
        assert_eq!(Locale::from_tag(""), None);
    }
}
