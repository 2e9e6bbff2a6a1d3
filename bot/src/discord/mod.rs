//! The Discord adapter (serenity): the commands crate's list as slash commands with
//! localized names and descriptions and typed options (sub-commands, string choices,
//! integer bounds, users; decimals as text), symbol autocomplete, embeds with the CSV
//! attached, buttons (Confirm/Cancel, Refresh) whose presses go to `Commands::on_action`
//! (an edit: acknowledged with type 6, then the message edited; a refusal: an ephemeral
//! message to the presser only), ephemeral errors, answers within Discord's 3 s or a
//! deferral and a follow-up.

pub mod delivery;
pub mod render;

use crate::app::App;
use crate::shutdown::Shutdown;
use chainsignal_commands::options::{OptionKind, OptionSpec};
use chainsignal_commands::registry::{self, CommandSpec};
use chainsignal_commands::{
    ActionAnswer, ActionPress, ChatKind, ChatRef, Commands, I18n, Invocation, Locale, Platform, PrivateForm,
    RawInput, RawValue, Reply, UserRef,
};
use chainsignal_core::market::DemoMarket;
use secrecy::{ExposeSecret, SecretString};
use serenity::all::{
    ActionRowComponent, ClientBuilder, Command, CommandDataOptionValue, CommandInteraction,
    CommandOptionType, ComponentInteraction, Context, CreateActionRow, CreateAutocompleteResponse,
    CreateCommand, CreateCommandOption, CreateInputText, CreateInteractionResponse,
    CreateInteractionResponseFollowup, CreateInteractionResponseMessage, CreateModal, EventHandler,
    GatewayIntents, GuildId, HttpBuilder, InputTextStyle, Interaction, ModalInteraction, Permissions, Ready,
};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

pub const DEFAULT_API_URL: &str = "https://discord.com";
/// Answer within this, or defer: Discord allows 3 s, and a rate-limited deferral needs
/// room for one retry.
const ANSWER_WITHIN: Duration = Duration::from_millis(1_500);
const SEND_ATTEMPTS: u32 = 4;

pub struct Started {
    pub task: JoinHandle<()>,
    /// For the scheduler's posts to channels.
    pub http: Arc<serenity::http::Http>,
}

fn http_client(token: &str, api_url: &str) -> serenity::http::Http {
    let mut http = HttpBuilder::new(token);
    if api_url != DEFAULT_API_URL {
        // serenity's ratelimiter sends its own requests without the proxy, so it must be
        // off; the adapter then retries 429s itself.
        http = http.proxy(api_url).ratelimiter_disabled(true);
    }
    http.build()
}

#[derive(Clone)]
struct Handler {
    commands: Commands,
    i18n: Arc<I18n>,
    guild_id: Option<u64>,
    /// Symbols offered by autocomplete: the watchlist first, then well-known pairs.
    suggestions: Vec<String>,
}

/// Start Discord when `DISCORD_TOKEN` is set: connect to the gateway (discovered through
/// `discord.api_url`), register the slash commands when they changed, serve until shutdown.
pub fn start(app: &App, shutdown: Shutdown) -> anyhow::Result<Option<Started>> {
    let Some(token) = app.config.secrets.discord_token.clone() else {
        return Ok(None);
    };
    let api_url = app.config.discord.api_url.trim_end_matches('/').to_string();
    let services = app.commands.services();
    let mut suggestions: Vec<String> = services.watchlist.iter().map(|s| s.to_string()).collect();
    for s in DemoMarket::listed(&services.quote) {
        if !suggestions.contains(&s) {
            suggestions.push(s);
        }
    }
    let handler = Handler {
        commands: app.commands.clone(),
        i18n: app.i18n.clone(),
        guild_id: app.config.discord.guild_id,
        suggestions,
    };
    let outbound = Arc::new(http_client(token.expose_secret(), &api_url));
    services.messengers.register(
        chainsignal_commands::Platform::Discord,
        Arc::new(delivery::DiscordMessenger(outbound.clone())),
    );
    let task = tokio::spawn(crate::supervise::supervise(
        "discord",
        shutdown.clone(),
        move || {
            let (token, api_url, handler, shutdown) =
                (token.clone(), api_url.clone(), handler.clone(), shutdown.clone());
            async move {
                let http = http_client(token.expose_secret(), &api_url);
                // serenity asks for the gateway URL itself and, when that fails, falls back to
                // Discord's real gateway. With a custom api_url every connection goes there or
                // nowhere: the URL is asked of api_url until it answers with one on its host.
                let local_gateway = if api_url == DEFAULT_API_URL {
                    None
                } else {
                    let wait = shutdown.clone().wait();
                    tokio::select! {
                        url = gateway_url_from(&http, &api_url) => Some(url),
                        _ = wait => return,
                    }
                };
                let status = handler.commands.services().status.clone();
                let mut cache = serenity::cache::Settings::default();
                cache.max_messages = 0;
                cache.cache_users = false;
                // No privileged intent and no message content: slash commands need neither.
                let client = ClientBuilder::new_with_http(http, GatewayIntents::GUILDS)
                    .cache_settings(cache)
                    .event_handler(handler);
                let mut client = match client.await {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::error!(error = %e, "discord client could not start; the Discord adapter is off");
                        return;
                    }
                };
                if let Some(url) = local_gateway {
                    *client.ws_url.lock().await = url;
                }
                let shards = client.shard_manager.clone();
                tokio::select! {
                    r = client.start() => if let Err(e) = r {
                        tracing::error!(error = %e, "discord gateway stopped; the Discord adapter is off");
                    },
                    _ = shutdown.wait() => shards.shutdown_all().await,
                }
                status.set_adapter("discord", false);
                tracing::info!("discord stopped");
            }
        },
    ));
    Ok(Some(Started { task, http: outbound }))
}

/// Ask `api_url` for the gateway URL until it gives one on its own host (backoff from half
/// a second to 30 s). Never falls back to Discord's gateway.
async fn gateway_url_from(http: &serenity::http::Http, api_url: &str) -> String {
    let mut delay = Duration::from_millis(500);
    loop {
        match http.get_gateway().await {
            Ok(gateway) if gateway_allowed(api_url, &gateway.url) => return gateway.url,
            Ok(_) => tracing::warn!(
                ?delay,
                "discord.api_url named a gateway on another host; refused, asking again"
            ),
            Err(e) => tracing::warn!(error = %e, ?delay, "discord gateway URL request failed; retrying"),
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(30));
    }
}

/// Whether serenity may connect to `ws_url` when the REST API is `api_url`: a WebSocket
/// URL on the same host.
pub fn gateway_allowed(api_url: &str, ws_url: &str) -> bool {
    let (Ok(api), Ok(ws)) = (reqwest::Url::parse(api_url), reqwest::Url::parse(ws_url)) else {
        return false;
    };
    matches!(ws.scheme(), "ws" | "wss") && ws.host().is_some() && ws.host() == api.host()
}

/// Whether serenity's error is Discord's 429.
fn rate_limited(e: &serenity::Error) -> bool {
    matches!(e, serenity::Error::Http(serenity::http::HttpError::UnsuccessfulRequest(r))
        if r.status_code.as_u16() == 429)
}

/// The waits after a 429: half a second, then a second, then two (serenity keeps
/// Discord's `retry_after` to itself here; Discord's interaction limits reset within
/// that), at most [`SEND_ATTEMPTS`] tries in all, no jitter.
fn rate_limit_backoff() -> backon::ExponentialBuilder {
    backon::ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(500))
        .with_factor(2.0)
        .with_max_delay(Duration::from_secs(2))
        .with_max_times(SEND_ATTEMPTS as usize - 1)
}

/// One request to Discord, retried after a 429 (only seen without serenity's ratelimiter,
/// which handles them itself in production). Every try is counted.
async fn retry<T, F, Fut>(what: &str, call: F) -> serenity::Result<T>
where
    F: Fn() -> Fut,
    Fut: Future<Output = serenity::Result<T>>,
{
    use backon::Retryable;
    let call = &call;
    let counted = move || async move {
        let result = call().await;
        let status = match &result {
            Ok(_) => "ok",
            Err(e) if rate_limited(e) => "429",
            Err(_) => "error",
        };
        metrics::counter!("chainsignal_outbound_requests_total", "service" => "discord", "status" => status)
            .increment(1);
        result
    };
    counted
        .retry(rate_limit_backoff())
        .when(rate_limited)
        .notify(|_, wait| tracing::warn!(what, ?wait, "discord rate limited; retrying"))
        .await
}

impl Handler {
    fn spec_commands(&self) -> impl Iterator<Item = &'static CommandSpec> {
        registry::COMMANDS.iter().filter(|c| c.name != "start")
    }

    /// The slash commands, English with Polish localizations, typed options generated
    /// from the registry's one list; commands for chat administrators are hidden from
    /// members by `default_member_permissions` (commands still checks every run).
    fn slash_commands(&self) -> Vec<CreateCommand> {
        let (en, pl) = (Locale::En, Locale::Pl);
        self.spec_commands()
            .map(|spec| {
                let desc = |l| truncate(&self.i18n.t(l, spec.description_key), 100);
                let mut cmd = CreateCommand::new(spec.name)
                    .description(desc(en))
                    .description_localized("pl", desc(pl));
                if let Some(p) = member_permissions(spec) {
                    cmd = cmd.default_member_permissions(p);
                }
                for def in option_defs(spec) {
                    cmd = cmd.add_option(create_option(&self.i18n, &def));
                }
                cmd
            })
            .collect()
    }

    /// What Discord should hold, as comparable text: names, descriptions in English and
    /// Polish, permissions, options with their types, flags, choices, bounds, sub-options.
    fn wanted_signature(&self) -> Vec<String> {
        let t = |l, k: &str| truncate(&self.i18n.t(l, k), 100);
        fn sig(d: &OptDef, t: &dyn Fn(Locale, &str) -> String) -> String {
            let subs: Vec<String> = d.subs.iter().map(|s| sig(s, t)).collect();
            format!(
                "{}:{}:{}:{}:{}:{}:{}:{:?}:{:?}[{}]",
                d.name,
                u8::from(d.kind),
                t(Locale::En, d.description_key),
                t(Locale::Pl, d.description_key),
                d.required,
                d.autocomplete,
                d.choices.join(","),
                d.min,
                d.max,
                subs.join(";")
            )
        }
        let mut out: Vec<String> = self
            .spec_commands()
            .map(|spec| {
                let options: Vec<String> = option_defs(spec).iter().map(|d| sig(d, &t)).collect();
                format!(
                    "{}|{}|{}|{:?}|{}",
                    spec.name,
                    t(Locale::En, spec.description_key),
                    t(Locale::Pl, spec.description_key),
                    member_permissions(spec).map(|p| p.bits()),
                    options.join(";")
                )
            })
            .collect();
        out.sort();
        out
    }

    fn existing_signature(commands: &[Command]) -> Vec<String> {
        fn pl(m: &Option<std::collections::HashMap<String, String>>) -> String {
            m.as_ref().and_then(|m| m.get("pl").cloned()).unwrap_or_default()
        }
        /// A bound as the whole number it stands for (`-10` and `-10.0` alike).
        fn whole(n: &serde_json::Number) -> Option<i64> {
            n.as_i64()
                .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
        }
        fn sig(o: &serenity::all::CommandOption) -> String {
            let values: Vec<String> = o
                .choices
                .iter()
                .map(|ch| ch.value.as_str().unwrap_or_default().to_string())
                .collect();
            let subs: Vec<String> = o.options.iter().map(sig).collect();
            format!(
                "{}:{}:{}:{}:{}:{}:{}:{:?}:{:?}[{}]",
                o.name,
                u8::from(o.kind),
                o.description,
                pl(&o.description_localizations),
                o.required,
                o.autocomplete,
                values.join(","),
                o.min_value.as_ref().and_then(whole),
                o.max_value.as_ref().and_then(whole),
                subs.join(";")
            )
        }
        let mut out: Vec<String> = commands
            .iter()
            .map(|c| {
                let options: Vec<String> = c.options.iter().map(sig).collect();
                format!(
                    "{}|{}|{}|{:?}|{}",
                    c.name,
                    c.description,
                    pl(&c.description_localizations),
                    c.default_member_permissions.map(|p| p.bits()),
                    options.join(";")
                )
            })
            .collect();
        out.sort();
        out
    }

    /// Register the commands only when they differ from what Discord holds (Discord allows
    /// 200 creations a day per guild).
    async fn register(&self, ctx: &Context) {
        let http = ctx.http.clone();
        let existing = match self.guild_id {
            Some(g) => {
                retry("get guild commands", || {
                    GuildId::new(g).get_commands_with_localizations(&http)
                })
                .await
            }
            None => {
                retry("get global commands", || {
                    Command::get_global_commands_with_localizations(&http)
                })
                .await
            }
        };
        match existing {
            Ok(existing) if Self::existing_signature(&existing) == self.wanted_signature() => {
                tracing::info!("discord commands are up to date; not registering");
                return;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot read the registered discord commands; registering"),
        }
        let result = match self.guild_id {
            Some(g) => {
                retry("set guild commands", || {
                    GuildId::new(g).set_commands(&http, self.slash_commands())
                })
                .await
            }
            None => {
                retry("set global commands", || {
                    Command::set_global_commands(&http, self.slash_commands())
                })
                .await
            }
        };
        match result {
            Ok(c) => tracing::info!(count = c.len(), guild = ?self.guild_id, "discord commands registered"),
            Err(e) => tracing::error!(error = %e, "discord command registration failed"),
        }
    }

    fn invocation(&self, command: &CommandInteraction) -> Invocation {
        let guild = command.guild_id.is_some();
        Invocation {
            request_id: command.id.get().to_string(),
            user: discord_user(&command.user),
            chat: discord_chat(command.channel_id, guild),
            locale: Locale::from_tag(&command.locale),
            chat_admin: is_chat_admin(guild, command.member.as_deref()),
            command: command.data.name.clone(),
            input: raw_input(&command.data.options),
            reply_to: None,
        }
    }

    async fn on_command(&self, ctx: &Context, command: &CommandInteraction) {
        let invocation = self.invocation(command);
        // Secrets to ask: a modal must be the first response (Discord allows no deferral).
        if let Some(form) = self.commands.private_form(&invocation).await {
            let modal = modal(&form);
            let result = retry("modal", || {
                command.create_response(&ctx.http, CreateInteractionResponse::Modal(modal.clone()))
            })
            .await;
            if let Err(e) = result {
                tracing::error!(error = %e, "discord modal response failed");
            }
            return;
        }
        let commands = self.commands.clone();
        let mut run = tokio::spawn(async move { commands.run(&invocation).await });
        let http = ctx.http.clone();
        match tokio::time::timeout(ANSWER_WITHIN, &mut run).await {
            Ok(Ok(reply)) => {
                let result = retry("interaction response", || {
                    command.create_response(
                        &http,
                        CreateInteractionResponse::Message(response_message(&reply)),
                    )
                })
                .await;
                if let Err(e) = result {
                    tracing::error!(error = %e, "discord interaction response failed");
                }
            }
            Ok(Err(e)) => tracing::error!(error = %e, "a discord command task failed"),
            Err(_) => {
                // Not within 3 s: defer ("thinking…", public), then follow up.
                if let Err(e) = retry("defer", || command.defer(&http)).await {
                    // Past Discord's deadline nothing more can be sent for this interaction,
                    // but the command runs to its end: cut short, its request id would be
                    // spent with the work half done.
                    tracing::error!(error = %e, "discord defer failed; the answer is dropped");
                    drop(run);
                    return;
                }
                let reply = match run.await {
                    Ok(reply) => reply,
                    Err(e) => {
                        tracing::error!(error = %e, "a discord command task failed");
                        return;
                    }
                };
                let message = render::message(&reply);
                if message.ephemeral {
                    // The deferral was public; the answer is private: replace it.
                    let _ = command.delete_response(&http).await;
                }
                let result = retry("follow-up", || command.create_followup(&http, followup(&reply))).await;
                if let Err(e) = result {
                    tracing::error!(error = %e, "discord follow-up failed");
                }
            }
        }
    }

    /// A private form was submitted: its values (secrets as `SecretString` from here on,
    /// never logged) go to the commands as the form's command; the answer is ephemeral.
    /// The submission's interaction id is the request id: a retry stores nothing twice.
    async fn on_modal(&self, ctx: &Context, modal: &ModalInteraction) {
        let fields: Vec<(String, SecretString)> = modal
            .data
            .components
            .iter()
            .flat_map(|row| row.components.iter())
            .filter_map(|c| match c {
                ActionRowComponent::InputText(t) => Some((
                    t.custom_id.clone(),
                    SecretString::from(t.value.clone().unwrap_or_default()),
                )),
                _ => None,
            })
            .collect();
        let guild = modal.guild_id.is_some();
        let chat = discord_chat(modal.channel_id, guild);
        let locale = Locale::from_tag(&modal.locale);
        let commands = self.commands.clone();
        let submitted = commands.form_submission(&modal.data.custom_id, fields);
        let invocation = submitted.map(|(command, input)| Invocation {
            request_id: modal.id.get().to_string(),
            user: discord_user(&modal.user),
            chat: chat.clone(),
            locale,
            chat_admin: is_chat_admin(guild, modal.member.as_ref()),
            command,
            input,
            reply_to: None,
        });
        let mut run = tokio::spawn(async move {
            match invocation {
                Some(invocation) => commands.run(&invocation).await,
                None => {
                    let locale = commands.chat_locale(&chat, locale).await;
                    Reply::error(commands.services().i18n.t(locale, "action-unknown"))
                }
            }
        });
        let http = ctx.http.clone();
        match tokio::time::timeout(ANSWER_WITHIN, &mut run).await {
            Ok(Ok(reply)) => {
                let message = response_message(&reply).ephemeral(true);
                let result = retry("modal answer", || {
                    modal.create_response(&http, CreateInteractionResponse::Message(message.clone()))
                })
                .await;
                if let Err(e) = result {
                    tracing::error!(error = %e, "discord modal answer failed");
                }
            }
            Ok(Err(e)) => tracing::error!(error = %e, "a discord form task failed"),
            Err(_) => {
                if let Err(e) = retry("defer", || modal.defer_ephemeral(&http)).await {
                    tracing::error!(error = %e, "discord defer failed; the answer is dropped");
                    drop(run);
                    return;
                }
                match run.await {
                    Ok(reply) => {
                        let followup = followup(&reply).ephemeral(true);
                        let result =
                            retry("follow-up", || modal.create_followup(&http, followup.clone())).await;
                        if let Err(e) = result {
                            tracing::error!(error = %e, "discord follow-up failed");
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "a discord form task failed"),
                }
            }
        }
    }

    async fn on_autocomplete(&self, ctx: &Context, command: &CommandInteraction) {
        let typed = command
            .data
            .autocomplete()
            .map(|a| a.value.to_string())
            .unwrap_or_default();
        // Complete the last word of what was typed. The separator may be any Unicode
        // whitespace (U+00A0, U+3000: several bytes), so cut after the whole character.
        let (before, last) = match typed
            .char_indices()
            .rev()
            .find(|(_, c)| c.is_whitespace() || *c == ',')
        {
            Some((i, c)) => typed.split_at(i + c.len_utf8()),
            None => ("", typed.as_str()),
        };
        let needle = last.to_ascii_uppercase();
        let mut response = CreateAutocompleteResponse::new();
        for s in self
            .suggestions
            .iter()
            .filter(|s| s.starts_with(&needle) || s.contains(&needle))
            .take(25)
        {
            let value = format!("{before}{s}");
            response = response.add_string_choice(truncate(&value, 100), truncate(&value, 100));
        }
        let http = ctx.http.clone();
        let result = retry("autocomplete", || {
            command.create_response(&http, CreateInteractionResponse::Autocomplete(response.clone()))
        })
        .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "discord autocomplete failed");
        }
    }

    /// A button: `commands` claims its pending action (once, by the one allowed, before
    /// it expires) and answers. An answer that replaces the message is acknowledged at
    /// once (the message stays) and then edited in; a refusal is told to the presser only.
    async fn on_component(&self, ctx: &Context, component: &ComponentInteraction) {
        let http = ctx.http.clone();
        let guild = component.guild_id.is_some();
        let press = ActionPress {
            request_id: component.id.get().to_string(),
            user: discord_user(&component.user),
            chat: discord_chat(component.channel_id, guild),
            locale: Locale::from_tag(&component.locale),
            chat_admin: is_chat_admin(guild, component.member.as_ref()),
            data: component.data.custom_id.clone(),
        };
        let commands = self.commands.clone();
        let mut run = tokio::spawn(async move { commands.on_action(&press).await });
        // A Notice must be the first response (ephemeral); an Edit may be deferred.
        let answer = match tokio::time::timeout(ANSWER_WITHIN, &mut run).await {
            Ok(Ok(answer)) => Some(answer),
            Ok(Err(e)) => {
                tracing::error!(error = %e, "a discord button task failed");
                return;
            }
            Err(_) => None,
        };
        if let Some(ActionAnswer::Notice(reply)) = &answer {
            let mut message = response_message(reply);
            message = message.ephemeral(true);
            if let Err(e) = retry("button notice", || {
                component.create_response(&http, CreateInteractionResponse::Message(message.clone()))
            })
            .await
            {
                tracing::error!(error = %e, "discord button notice failed");
            }
            return;
        }
        // Acknowledge (the message stays), then edit it with the answer.
        if let Err(e) = retry("defer update", || {
            component.create_response(&http, CreateInteractionResponse::Acknowledge)
        })
        .await
        {
            // Nothing more can be shown for this press, but the action runs to its end: it
            // may have claimed its Confirm already, and cut short it would be spent with
            // nothing done.
            tracing::error!(error = %e, "discord button acknowledgement failed; the answer is dropped");
            drop(run);
            return;
        }
        let answer = match answer {
            Some(a) => a,
            None => match run.await {
                Ok(a) => a,
                Err(e) => {
                    tracing::error!(error = %e, "a discord button task failed");
                    return;
                }
            },
        };
        match answer {
            ActionAnswer::Edit(reply) => {
                let message = render::message(&reply);
                let edit = || {
                    let mut edit = serenity::all::EditInteractionResponse::new()
                        .embed(message.embed.clone())
                        .components(message.components.clone())
                        .allowed_mentions(render::no_mentions());
                    for file in &message.files {
                        edit = edit.new_attachment(file.clone());
                    }
                    component.edit_response(&http, edit)
                };
                if let Err(e) = retry("button edit", edit).await {
                    tracing::error!(error = %e, "discord button edit failed");
                }
            }
            ActionAnswer::Notice(reply) => {
                let followup = followup(&reply).ephemeral(true);
                if let Err(e) = retry("button follow-up", || {
                    component.create_followup(&http, followup.clone())
                })
                .await
                {
                    tracing::error!(error = %e, "discord button follow-up failed");
                }
            }
        }
    }
}

/// Discord's integers lie within ±2^53; a bound beyond that is left to the decoder.
const DISCORD_MAX_INTEGER: u64 = 1 << 53;

/// One slash option as registered: from the registry's typed options.
struct OptDef {
    kind: CommandOptionType,
    name: &'static str,
    description_key: &'static str,
    required: bool,
    autocomplete: bool,
    choices: Vec<&'static str>,
    /// Bounds of an integer option, within Discord's ±2^53.
    min: Option<i64>,
    max: Option<i64>,
    subs: Vec<OptDef>,
}

/// Discord's options for a command: its sub-commands, or its options. Decimals are
/// registered as text, not as Discord's floating-point numbers, so that an amount keeps
/// every digit; commands decodes them like the text form.
fn option_defs(spec: &CommandSpec) -> Vec<OptDef> {
    if spec.subs.is_empty() {
        return spec
            .options
            .iter()
            .filter(|o| !o.secret)
            .map(option_def)
            .collect();
    }
    spec.subs
        .iter()
        .map(|sub| OptDef {
            kind: CommandOptionType::SubCommand,
            name: sub.name,
            description_key: sub.description_key,
            required: false,
            autocomplete: false,
            choices: Vec::new(),
            min: None,
            max: None,
            // Secrets are never slash-command options (they would show in the channel's
            // command line): they are asked in a modal.
            subs: sub.options.iter().filter(|o| !o.secret).map(option_def).collect(),
        })
        .collect()
}

fn option_def(o: &OptionSpec) -> OptDef {
    let (kind, choices, min, max) = match o.kind {
        OptionKind::Integer { min, max } => (
            CommandOptionType::Integer,
            Vec::new(),
            Some(min).filter(|v| v.unsigned_abs() <= DISCORD_MAX_INTEGER),
            Some(max).filter(|v| v.unsigned_abs() <= DISCORD_MAX_INTEGER),
        ),
        OptionKind::Choice(c) => (CommandOptionType::String, c.to_vec(), None, None),
        OptionKind::User => (CommandOptionType::User, Vec::new(), None, None),
        _ => (CommandOptionType::String, Vec::new(), None, None),
    };
    OptDef {
        kind,
        name: o.name,
        description_key: o.description_key,
        required: o.required,
        autocomplete: o.autocomplete,
        choices,
        min,
        max,
        subs: Vec::new(),
    }
}

/// One option as Discord registers it, English with Polish descriptions.
fn create_option(i18n: &I18n, d: &OptDef) -> CreateCommandOption {
    let t = |l, k: &str| truncate(&i18n.t(l, k), 100);
    let mut o = CreateCommandOption::new(d.kind, d.name, t(Locale::En, d.description_key))
        .description_localized("pl", t(Locale::Pl, d.description_key))
        .required(d.required);
    if d.autocomplete {
        o = o.set_autocomplete(true);
    }
    for c in &d.choices {
        o = o.add_string_choice(*c, *c);
    }
    // serenity takes integer bounds as u64: a negative one goes as a number, exact
    // within ±2^53 (Discord keeps an integer option's bounds as integers).
    if let Some(min) = d.min {
        o = match u64::try_from(min) {
            Ok(m) => o.min_int_value(m),
            Err(_) => o.min_number_value(min as f64),
        };
    }
    if let Some(max) = d.max {
        o = match u64::try_from(max) {
            Ok(m) => o.max_int_value(m),
            Err(_) => o.max_number_value(max as f64),
        };
    }
    for sub in &d.subs {
        o = o.add_sub_option(create_option(i18n, sub));
    }
    o
}

/// Commands for chat administrators are shown to members who can manage the server.
fn member_permissions(spec: &CommandSpec) -> Option<Permissions> {
    spec.chat_admin.then_some(Permissions::MANAGE_GUILD)
}

/// A slash command's options as the commands crate takes them.
fn raw_input(options: &[serenity::all::CommandDataOption]) -> RawInput {
    let value = |v: &CommandDataOptionValue| match v {
        CommandDataOptionValue::String(s) => Some(RawValue::Text(s.clone())),
        CommandDataOptionValue::Integer(i) => Some(RawValue::Integer(*i)),
        CommandDataOptionValue::Number(n) => Some(RawValue::Text(n.to_string())),
        CommandDataOptionValue::Boolean(b) => Some(RawValue::Text(b.to_string())),
        CommandDataOptionValue::User(id) => Some(RawValue::User(id.get().to_string())),
        _ => None,
    };
    let named = |opts: &[serenity::all::CommandDataOption]| {
        opts.iter()
            .filter_map(|o| value(&o.value).map(|v| (o.name.clone(), v)))
            .collect::<Vec<_>>()
    };
    match options.first() {
        Some(first) => match &first.value {
            CommandDataOptionValue::SubCommand(inner) => RawInput::Named {
                sub: Some(first.name.clone()),
                values: named(inner),
            },
            _ => RawInput::Named {
                sub: None,
                values: named(options),
            },
        },
        None => RawInput::Named {
            sub: None,
            values: Vec::new(),
        },
    }
}

/// The asker administers this channel: a DM is their own; in a server, Manage Server or
/// Administrator.
fn is_chat_admin(guild: bool, member: Option<&serenity::all::Member>) -> bool {
    !guild
        || member
            .and_then(|m| m.permissions)
            .is_some_and(|p| p.contains(Permissions::ADMINISTRATOR) || p.contains(Permissions::MANAGE_GUILD))
}

fn discord_chat(channel: serenity::all::ChannelId, guild: bool) -> ChatRef {
    ChatRef {
        platform: Platform::Discord,
        id: channel.get().to_string(),
        kind: if guild { ChatKind::Group } else { ChatKind::Private },
    }
}

fn discord_user(user: &serenity::all::User) -> UserRef {
    UserRef {
        platform: Platform::Discord,
        id: user.id.get().to_string(),
        display_name: Some(user.global_name.clone().unwrap_or_else(|| user.name.clone())),
        // `/admin` takes a Discord user option (an id): no username needed.
        username: None,
    }
}

/// A scheduled post to a channel.
pub async fn post(http: &serenity::http::Http, channel_id: u64, reply: &Reply) -> serenity::Result<()> {
    let m = render::message(reply);
    retry("channel message", || {
        let message = serenity::all::CreateMessage::new()
            .embed(m.embed.clone())
            .add_files(m.files.clone())
            .allowed_mentions(render::no_mentions());
        serenity::all::ChannelId::new(channel_id).send_message(http, message)
    })
    .await
    .map(|_| ())
}

/// A private form as a Discord modal: one text input per field (labels at most 45
/// characters, the title too), its id the form's (never a secret).
fn modal(form: &PrivateForm) -> CreateModal {
    let rows = form
        .fields
        .iter()
        .take(5)
        .map(|f| {
            let style = if f.multiline {
                InputTextStyle::Paragraph
            } else {
                InputTextStyle::Short
            };
            let mut input = CreateInputText::new(style, truncate(&f.label, 45), f.name)
                .required(f.required)
                .max_length(f.max_len.min(4000));
            if f.required && f.min_len > 0 {
                input = input.min_length(f.min_len);
            }
            CreateActionRow::InputText(input)
        })
        .collect();
    CreateModal::new(form.id.clone(), truncate(&form.title, 45)).components(rows)
}

fn response_message(reply: &Reply) -> CreateInteractionResponseMessage {
    let m = render::message(reply);
    CreateInteractionResponseMessage::new()
        .embed(m.embed)
        .add_files(m.files)
        .components(m.components)
        .ephemeral(m.ephemeral)
        .allowed_mentions(render::no_mentions())
}

fn followup(reply: &Reply) -> CreateInteractionResponseFollowup {
    let m = render::message(reply);
    CreateInteractionResponseFollowup::new()
        .embed(m.embed)
        .add_files(m.files)
        .components(m.components)
        .ephemeral(m.ephemeral)
        .allowed_mentions(render::no_mentions())
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

#[serenity::async_trait]
impl EventHandler for Handler {
    async fn ready(&self, ctx: Context, ready: Ready) {
        tracing::info!(user = %ready.user.name, guilds = ready.guilds.len(), "discord connected");
        self.commands.services().status.set_adapter("discord", true);
        self.register(&ctx).await;
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        let handle = async {
            match interaction {
                Interaction::Command(command) => self.on_command(&ctx, &command).await,
                Interaction::Autocomplete(command) => self.on_autocomplete(&ctx, &command).await,
                Interaction::Component(component) => self.on_component(&ctx, &component).await,
                Interaction::Modal(modal) => self.on_modal(&ctx, &modal).await,
                _ => {}
            }
        };
        crate::scheduler::guarded("discord interaction", handle).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn option(name: &'static str, kind: OptionKind) -> OptionSpec {
        OptionSpec::new(name, kind, "option-symbols")
    }

    /// The option as serenity sends it in the registration body.
    fn wire(d: &OptDef) -> serde_json::Value {
        serde_json::to_value(create_option(&I18n::new(), d)).unwrap()
    }

    #[test]
    fn decimals_are_registered_as_text() {
        let d = option_def(&option("qty", OptionKind::Decimal { positive: true }).required());
        assert_eq!(d.kind, CommandOptionType::String);
        assert!(d.required && d.choices.is_empty() && d.min.is_none() && d.max.is_none());
        let w = wire(&d);
        assert_eq!(w["type"], 3, "{w}");
        assert_eq!(w["required"], true, "{w}");
        assert!(
            w["min_value"].is_null() && w["max_value"].is_null(),
            "no float bounds: {w}"
        );
        assert_eq!(
            w["description_localizations"]["pl"].as_str().map(str::is_empty),
            Some(false)
        );
    }

    #[test]
    fn integers_carry_their_bounds() {
        let d = option_def(&option("count", OptionKind::Integer { min: 1, max: 100 }));
        assert_eq!(d.kind, CommandOptionType::Integer);
        assert_eq!((d.min, d.max), (Some(1), Some(100)));
        let w = wire(&d);
        assert_eq!(
            (w["type"].clone(), w["min_value"].clone(), w["max_value"].clone()),
            (4.into(), 1.into(), 100.into())
        );

        // A negative bound is kept (it was dropped when bounds were u64); one beyond
        // Discord's ±2^53 is left out, the decoder still enforces it.
        let d = option_def(&option(
            "offset",
            OptionKind::Integer {
                min: -5,
                max: i64::MAX,
            },
        ));
        assert_eq!((d.min, d.max), (Some(-5), None));
        let w = wire(&d);
        assert_eq!(w["min_value"].as_f64(), Some(-5.0), "{w}");
        assert!(w["max_value"].is_null(), "{w}");
        let d = option_def(&option(
            "any",
            OptionKind::Integer {
                min: i64::MIN,
                max: 0,
            },
        ));
        assert_eq!((d.min, d.max), (None, Some(0)));
    }

    #[test]
    fn users_are_user_options() {
        let d = option_def(&option("who", OptionKind::User).required());
        assert_eq!(d.kind, CommandOptionType::User);
        assert_eq!(wire(&d)["type"], 6);
    }

    #[test]
    fn choices_are_string_choices() {
        let d = option_def(&option("language", OptionKind::Choice(&["en", "pl"])));
        assert_eq!(d.kind, CommandOptionType::String);
        let w = wire(&d);
        let values: Vec<&str> = w["choices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["value"].as_str().unwrap())
            .collect();
        assert_eq!(values, ["en", "pl"]);
    }

    #[test]
    fn sub_commands_carry_their_options() {
        let spec = registry::find("schedule").unwrap();
        let defs = option_defs(spec);
        let names: Vec<&str> = defs.iter().map(|d| d.name).collect();
        assert_eq!(names, ["list", "add", "remove", "rename"]);
        assert!(
            defs.iter()
                .all(|d| d.kind == CommandOptionType::SubCommand && !d.required)
        );
        let remove = &defs[2];
        assert_eq!(remove.subs.len(), 1);
        assert_eq!(
            (remove.subs[0].name, remove.subs[0].kind, remove.subs[0].required),
            ("name", CommandOptionType::String, true)
        );
        let w = wire(remove);
        assert_eq!(
            (w["type"].clone(), w["options"][0]["type"].clone()),
            (1.into(), 3.into()),
            "{w}"
        );
    }

    #[test]
    fn chat_admin_commands_need_manage_server() {
        let bits = |name| member_permissions(registry::find(name).unwrap()).map(|p| p.bits());
        assert_eq!(bits("subscribe"), Some(32));
        assert_eq!(bits("unsubscribe"), Some(32));
        assert_eq!(bits("report"), None);
        assert_eq!(bits("lang"), None);
    }

    #[test]
    fn the_gateway_stays_on_the_api_host() {
        let api = "http://127.0.0.1:4000";
        assert!(gateway_allowed(api, "ws://127.0.0.1:4001/gateway"));
        assert!(gateway_allowed(
            "https://discord.example",
            "wss://discord.example/gw"
        ));
        assert!(!gateway_allowed(api, "wss://gateway.discord.gg"));
        assert!(!gateway_allowed(api, "ws://localhost:4001/gateway"));
        assert!(!gateway_allowed(api, "http://127.0.0.1:4001/gateway"));
        assert!(!gateway_allowed(api, "not a url"));
        assert!(!gateway_allowed("not a url", "ws://127.0.0.1/"));
    }
}
