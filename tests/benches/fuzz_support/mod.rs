//! Arbitrary input for the command parser and the option decoder, shared by the
//! 1M-input run (`benches/fuzz_commands.rs`) and the quick run in the test suite
//! (`tests/fuzz_commands_quick.rs`).
//!
//! Each input is one message text and one set of named values (Discord options, stored
//! actions), with private true/false and a reply-to or none. It goes through
//! `parser::parse`, then `options::decode` of EVERY command in the registry (its
//! options, its sub-commands) as `RawInput::Text` and as `RawInput::Named`, plus a
//! synthetic command that declares every option kind; decoded arguments go through
//! `audit_text`, `to_stored` and back through `decode` (what a pending action does);
//! errors are rendered (`message`, `code`). Each call runs under `catch_unwind`.

use chainsignal_commands::options::{
    self, DecodeContext, OptionKind, OptionSpec, RawInput, RawValue, StoredArgs, SubSpec,
};
use chainsignal_commands::{parser, registry};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use secrecy::SecretString;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;

/// Every option kind, with extreme bounds, for the kinds the registry does not use yet.
const EVERY_KIND: &[OptionSpec] = &[
    OptionSpec::new("symbol", OptionKind::Symbol, "x"),
    OptionSpec::new("qty", OptionKind::Decimal { positive: true }, "x"),
    OptionSpec::new("delta", OptionKind::Decimal { positive: false }, "x"),
    OptionSpec::new(
        "n",
        OptionKind::Integer {
            min: i64::MIN,
            max: i64::MAX,
        },
        "x",
    ),
    OptionSpec::new("pct", OptionKind::Integer { min: 1, max: 100 }, "x"),
    OptionSpec::new("side", OptionKind::Choice(&["long", "short", "ŁÓDŹ"]), "x"),
    OptionSpec::new("every", OptionKind::Duration { max_secs: i64::MAX }, "x"),
    OptionSpec::new("ttl", OptionKind::Duration { max_secs: 7 * 86_400 }, "x"),
    OptionSpec::new("who", OptionKind::User, "x"),
    OptionSpec::new("key", OptionKind::Word, "x").secret(),
    OptionSpec::new("word", OptionKind::Word, "x"),
    OptionSpec::new("note", OptionKind::Text, "x"),
];
const EVERY_KIND_REQUIRED: &[OptionSpec] = &[
    OptionSpec::new("qty", OptionKind::Decimal { positive: true }, "x").required(),
    OptionSpec::new("who", OptionKind::User, "x").required(),
    OptionSpec::new("symbols", OptionKind::Symbols, "x").required(),
];
const SYNTHETIC_SUBS: &[SubSpec] = &[
    SubSpec {
        name: "all",
        description_key: "x",
        options: EVERY_KIND,
    },
    SubSpec {
        name: "req",
        description_key: "x",
        options: EVERY_KIND_REQUIRED,
    },
    SubSpec {
        name: "none",
        description_key: "x",
        options: &[],
    },
];

/// A command's declaration as the decoder takes it.
#[derive(Clone, Copy)]
struct Target {
    name: &'static str,
    options: &'static [OptionSpec],
    subs: &'static [SubSpec],
    default_sub: Option<&'static str>,
}

fn targets() -> Vec<Target> {
    let mut all: Vec<Target> = registry::COMMANDS
        .iter()
        .map(|c| Target {
            name: c.name,
            options: c.options,
            subs: c.subs,
            default_sub: c.default_sub,
        })
        .collect();
    all.push(Target {
        name: "every-kind",
        options: EVERY_KIND,
        subs: &[],
        default_sub: None,
    });
    all.push(Target {
        name: "every-kind-subs",
        options: &[],
        subs: SYNTHETIC_SUBS,
        default_sub: Some("none"),
    });
    all
}

/// One generated input.
#[derive(Debug, Clone)]
pub struct Case {
    pub text: String,
    pub sub: Option<String>,
    pub named: Vec<(String, Named)>,
    pub private: bool,
    /// Decode as a pending action's stored arguments (symbols already normalized).
    pub stored: bool,
    pub reply_to: Option<String>,
    pub bot_username: Option<String>,
}

/// A named value (a `RawValue`, printable: secrets are test strings here).
#[derive(Debug, Clone)]
pub enum Named {
    Text(String),
    Integer(i64),
    User(String),
    Secret(String),
}

impl Named {
    fn raw(&self) -> RawValue {
        match self {
            Named::Text(t) => RawValue::Text(t.clone()),
            Named::Integer(i) => RawValue::Integer(*i),
            Named::User(u) => RawValue::User(u.clone()),
            Named::Secret(s) => RawValue::Secret(SecretString::from(s.clone())),
        }
    }
}

/// Every option and sub-command name of the registry and the synthetic command.
fn known_words() -> Vec<String> {
    let mut words = vec!["".to_string()];
    for t in targets() {
        words.push(t.name.to_string());
        for o in t.options {
            words.push(o.name.to_string());
        }
        for s in t.subs {
            words.push(s.name.to_string());
            for o in s.options {
                words.push(o.name.to_string());
            }
        }
    }
    for c in registry::COMMANDS {
        for o in c
            .options
            .iter()
            .chain(c.subs.iter().flat_map(|s| s.options.iter()))
        {
            if let OptionKind::Choice(choices) = o.kind {
                words.extend(choices.iter().map(|c| c.to_string()));
            }
        }
    }
    words.sort();
    words.dedup();
    words
}

/// One word of a message: arbitrary, or shaped like what the decoder looks for.
fn word(known: Vec<String>) -> BoxedStrategy<String> {
    let name = proptest::sample::select(known);
    prop_oneof![
        3 => any::<String>(),
        3 => name.clone(),
        2 => name.clone().prop_map(|n| n.to_uppercase()),
        3 => (name.clone(), any::<String>()).prop_map(|(n, v)| format!("{n}={v}")),
        2 => (name.clone(), "[=,]{0,4}[-+]?[0-9.,=]{0,12}").prop_map(|(n, v)| format!("{n}={v}")),
        2 => "[=,]{1,12}",
        2 => any::<i64>().prop_map(|n| n.to_string()),
        1 => Just(i64::MIN.to_string()),
        1 => Just(i64::MAX.to_string()),
        1 => Just("-9223372036854775809".to_string()),
        2 => "-?[0-9]{19,80}",
        2 => "-?[0-9]{1,30}\\.[0-9]{0,40}",
        1 => "[0-9]{1,3}(,[0-9]{3}){1,4}(\\.[0-9]{1,3})?",
        1 => "-?[0-9.]{1,6}[eE][-+]?[0-9]{1,5}",
        1 => "(NaN|nan|inf|-inf|Infinity|\\.|-|\\+|0x1F|1_000|٣|１２)",
        2 => "-?[0-9]{1,25}[smhdwSMHDWy]?",
        1 => "[0-9]{1,20}(ms|min|h|d|w)[0-9]{0,3}",
        2 => "@[A-Za-z0-9_]{0,40}",
        1 => "@[^ ]{0,10}",
        2 => "[A-Za-z]{1,8}(/|-|_)?[A-Za-z]{0,8}",
        1 => "[\\x00-\\x1f\\x7f\u{200b}\u{feff}\u{202e}]{1,6}",
        1 => "[ąęłóśżźćńĄĘŁÓŚŻŹĆŃ\u{0300}-\u{036f}\u{1F600}-\u{1F64F}]{1,8}",
        1 => "[a-z0-9]{500,530}",
    ]
    .boxed()
}

fn separator() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => Just(" ".to_string()),
        2 => Just(",".to_string()),
        1 => Just(", ".to_string()),
        1 => "[ \t\n\r,=\u{a0}\u{3000}]{0,4}",
    ]
}

/// A message: arbitrary text, or words joined, sometimes after a `/command`.
fn message(known: Vec<String>) -> BoxedStrategy<String> {
    let commands: Vec<String> = registry::COMMANDS.iter().map(|c| c.name.to_string()).collect();
    let words = proptest::collection::vec((word(known), separator()), 0..10)
        .prop_map(|ws| ws.into_iter().map(|(w, s)| w + &s).collect::<String>())
        .boxed();
    let head = prop_oneof![
        3 => proptest::sample::select(commands).prop_map(|c| format!("/{c} ")),
        1 => proptest::sample::select(vec!["/", "/report@ChainsignalBot ", "/report@other ", "/REPORT,", "", " /x@ "])
            .prop_map(str::to_string),
        1 => any::<String>().prop_map(|s| format!("/{s}")),
    ];
    prop_oneof![
        2 => any::<String>(),
        6 => (head, words.clone()).prop_map(|(h, w)| h + &w),
        2 => words,
        // Long: past the parser's 4096-byte limit, or just under it.
        1 => ("[a-z ,=]{1,8}", 500usize..700).prop_map(|(w, n)| format!("/report {}", w.repeat(n))),
    ]
    .boxed()
}

fn named_value() -> impl Strategy<Value = Named> {
    prop_oneof![
        4 => any::<String>().prop_map(Named::Text),
        2 => "-?[0-9]{1,30}(\\.[0-9]{0,30})?".prop_map(Named::Text),
        3 => any::<i64>().prop_map(Named::Integer),
        2 => proptest::sample::select(vec![i64::MIN, i64::MIN + 1, -1, 0, 1, 100, 101, i64::MAX - 1, i64::MAX])
            .prop_map(Named::Integer),
        // A platform's resolved user option: a numeric id (Discord snowflake).
        2 => "[0-9]{1,20}".prop_map(Named::User),
        1 => any::<String>().prop_map(Named::Secret),
    ]
}

pub fn case() -> BoxedStrategy<Case> {
    let known = known_words();
    let name = prop_oneof![
        4 => proptest::sample::select(known.clone()),
        1 => proptest::sample::select(known.clone()).prop_map(|n| n.to_uppercase()),
        1 => any::<String>(),
    ];
    let sub = proptest::option::of(prop_oneof![
        3 => proptest::sample::select(known.clone()),
        1 => any::<String>(),
    ]);
    (
        message(known),
        sub,
        proptest::collection::vec((name, named_value()), 0..6),
        (any::<bool>(), any::<bool>()),
        // The replied-to author, as the adapter supplies it: a numeric id.
        proptest::option::of("[0-9]{1,20}"),
        proptest::option::of(proptest::sample::select(vec![
            "ChainsignalBot",
            "@chainsignalbot",
            "",
            "ß",
        ])),
    )
        .prop_map(|(text, sub, named, (private, stored), reply_to, bot)| Case {
            text,
            sub,
            named,
            private,
            stored,
            reply_to,
            bot_username: bot.map(str::to_string),
        })
        .boxed()
}

/// What one run found.
#[derive(Debug, Default)]
pub struct Outcome {
    pub inputs: u64,
    /// Calls made (parse, decode, re-decode), all under `catch_unwind`.
    pub calls: u64,
    pub panics: u64,
    /// Decoded arguments that did not decode again from their stored form.
    pub roundtrip_refused: u64,
    /// The first few panics: (input, where, panic message).
    pub panic_examples: Vec<(Case, String, String)>,
    pub roundtrip_examples: Vec<(Case, String, String)>,
    /// Round-trip refusals by (command, error code).
    pub roundtrip_kinds: std::collections::BTreeMap<String, u64>,
}

static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

/// Run `inputs` generated inputs from `seed`.
pub fn run(inputs: u64, seed: [u8; 32]) -> Outcome {
    let strategy = case();
    let config = Config {
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed));
    let targets = targets();
    let previous_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|info| {
        let at = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        *LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()) = Some(format!("{msg} at {at}"));
    }));
    let mut out = Outcome::default();
    for _ in 0..inputs {
        let case = match strategy.new_tree(&mut runner) {
            Ok(tree) => tree.current(),
            Err(e) => panic!("generation failed: {e}"),
        };
        out.inputs += 1;
        one(&case, &targets, &mut out);
    }
    std::panic::set_hook(previous_hook);
    out
}

fn guarded<T>(out: &mut Outcome, case: &Case, what: &str, f: impl FnOnce() -> T) -> Option<T> {
    out.calls += 1;
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => Some(v),
        Err(_) => {
            out.panics += 1;
            if out.panic_examples.len() < 10 {
                let msg = LAST_PANIC
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .take()
                    .unwrap_or_default();
                out.panic_examples.push((case.clone(), what.to_string(), msg));
            }
            None
        }
    }
}

fn one(case: &Case, targets: &[Target], out: &mut Outcome) {
    let cx = DecodeContext {
        quote: "USDT",
        reply_to: case.reply_to.as_deref(),
        private: case.private,
        stored: case.stored,
    };
    let parsed = guarded(out, case, "parser::parse", || {
        parser::parse(&case.text, case.bot_username.as_deref())
    });
    let text_input = RawInput::Text(case.text.clone());
    let named_input = RawInput::Named {
        sub: case.sub.clone(),
        values: case.named.iter().map(|(n, v)| (n.clone(), v.raw())).collect(),
    };
    for t in targets {
        decode_one(out, case, t, &text_input, cx, "text");
        decode_one(out, case, t, &named_input, cx, "named");
    }
    // The real path: the parsed command's own options decode the text after it.
    if let Some(Ok(Some(p))) = parsed
        && let Some(t) = targets.iter().find(|t| t.name == p.name)
    {
        decode_one(out, case, t, &p.input(), cx, "parsed");
    }
}

fn decode_one(
    out: &mut Outcome,
    case: &Case,
    t: &Target,
    input: &RawInput,
    cx: DecodeContext<'_>,
    form: &str,
) {
    let what = format!("options::decode({}, {form})", t.name);
    let stored = guarded(out, case, &what, || {
        match options::decode(t.options, t.subs, t.default_sub, input, cx) {
            Ok(args) => {
                let _ = args.audit_text();
                let stored = args.to_stored();
                let json = serde_json::to_string(&stored).unwrap_or_default();
                Some(serde_json::from_str::<StoredArgs>(&json).unwrap_or(stored))
            }
            Err(e) => {
                let _ = (e.message(), e.code());
                None
            }
        }
    });
    // What a pending action does: decode the stored form again, as stored.
    let cx = DecodeContext { stored: true, ..cx };
    if let Some(Some(stored)) = stored {
        let what = format!("options::decode({}, stored from {form})", t.name);
        let again = guarded(out, case, &what, || {
            options::decode(t.options, t.subs, t.default_sub, &stored.clone().into_input(), cx).map(|_| ())
        });
        if let Some(Err(e)) = again {
            out.roundtrip_refused += 1;
            *out.roundtrip_kinds
                .entry(format!("{} ({})", t.name, e.code()))
                .or_default() += 1;
            if out.roundtrip_examples.len() < 10 {
                out.roundtrip_examples
                    .push((case.clone(), what, format!("{e:?} from {stored:?}")));
            }
        }
    }
}
