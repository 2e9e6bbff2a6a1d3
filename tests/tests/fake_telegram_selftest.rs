//! The fake Telegram server checked with the real teloxide client.

use chainsignal_tests::fake_telegram::{
    BOT_USERNAME, ChatType, Failure, FakeTelegram, IncomingMessage, MAX_LONG_POLL,
};
use serde_json::{Value, json};
use std::time::Duration;
use teloxide::prelude::*;
use teloxide::types::{
    BotCommand, ChatAction, InputFile, MessageEntityKind, MessageId, ThreadId, UpdateKind,
};
use teloxide::update_listeners::Polling;
use teloxide::{ApiError, RequestError};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const WAIT: Duration = Duration::from_secs(5);

fn bot(fake: &FakeTelegram) -> Result<Bot, Box<dyn std::error::Error>> {
    Ok(Bot::new("123:TEST").set_api_url(fake.url().parse()?))
}

fn message_of(update: &Update) -> &Message {
    match &update.kind {
        UpdateKind::Message(m) => m,
        other => panic!("not a message update: {other:?}"),
    }
}

#[tokio::test]
async fn get_me_and_send_message() -> TestResult {
    let fake = FakeTelegram::start().await;
    let bot = bot(&fake)?;
    assert!(fake.url().starts_with("http://127.0.0.1:"));

    let me = bot.get_me().await?;
    assert_eq!(me.username(), BOT_USERNAME);
    assert_eq!(me.id.0, 1);

    let sent = bot.send_message(ChatId(42), "hello ✓").await?;
    assert_eq!(sent.chat.id, ChatId(42));
    assert!(sent.chat.is_private());
    assert_eq!(sent.text(), Some("hello ✓"));
    let second = bot.send_message(ChatId(42), "again").await?;
    assert_eq!(second.id.0, sent.id.0 + 1, "message ids increase");

    let calls = fake.calls_of("SendMessage");
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].method, "sendmessage");
    assert_eq!(calls[0].body["chat_id"], 42);
    assert_eq!(calls[0].body["text"], "hello ✓");
    assert_eq!(calls[0].chat_id(), Some(42));
    assert_eq!(calls[0].status, 200);
    let names: Vec<String> = fake.calls().into_iter().map(|c| c.method).collect();
    assert_eq!(names, ["getme", "sendmessage", "sendmessage"]);
    Ok(())
}

#[tokio::test]
async fn send_document_is_multipart_and_recorded() -> TestResult {
    let fake = FakeTelegram::start().await;
    let bot = bot(&fake)?;

    let file = InputFile::memory(b"a,b\n1,2\n".to_vec()).file_name("r.csv");
    let sent = bot.send_document(ChatId(42), file).caption("report").await?;
    let document = sent.document().expect("a document message");
    assert_eq!(document.file_name.as_deref(), Some("r.csv"));
    assert_eq!(document.file.size, 8);
    assert_eq!(sent.caption(), Some("report"));

    let call = &fake.calls_of("senddocument")[0];
    assert_eq!(
        call.body["document"],
        json!({"filename": "r.csv", "content": "a,b\n1,2\n"})
    );
    // Multipart values are text.
    assert_eq!(call.body["chat_id"], "42");
    assert_eq!(call.chat_id(), Some(42));
    assert_eq!(call.body["caption"], "report");
    assert_eq!(call.body.as_object().map(|o| o.len()), Some(3), "{}", call.body);
    Ok(())
}

#[tokio::test]
async fn blocked_chat_is_bot_blocked() -> TestResult {
    let fake = FakeTelegram::start().await;
    let bot = bot(&fake)?;
    fake.block_chat(99);

    let err = bot.send_message(ChatId(99), "hi").await.expect_err("blocked");
    assert!(matches!(err, RequestError::Api(ApiError::BotBlocked)), "{err:?}");
    let file = InputFile::memory(b"x".to_vec()).file_name("x.txt");
    let err = bot.send_document(ChatId(99), file).await.expect_err("blocked");
    assert!(matches!(err, RequestError::Api(ApiError::BotBlocked)), "{err:?}");
    let err = bot
        .send_chat_action(ChatId(99), ChatAction::Typing)
        .await
        .expect_err("blocked");
    assert!(matches!(err, RequestError::Api(ApiError::BotBlocked)), "{err:?}");
    bot.send_message(ChatId(42), "others are fine").await?;

    let statuses: Vec<u16> = fake.calls().iter().map(|c| c.status).collect();
    assert_eq!(statuses, [403, 403, 403, 200]);

    fake.unblock_chat(99);
    bot.send_message(ChatId(99), "back").await?;
    Ok(())
}

#[tokio::test]
async fn injected_failures() -> TestResult {
    let fake = FakeTelegram::start().await;
    let bot = bot(&fake)?;

    fake.fail("sendMessage", Failure::RetryAfter { secs: 3, times: 2 });
    for _ in 0..2 {
        let err = bot.send_message(ChatId(1), "x").await.expect_err("429");
        assert!(
            matches!(err, RequestError::RetryAfter(s) if s.seconds() == 3),
            "{err:?}"
        );
    }
    bot.send_message(ChatId(1), "x").await?;
    let statuses: Vec<u16> = fake.calls_of("sendmessage").iter().map(|c| c.status).collect();
    assert_eq!(statuses, [429, 429, 200]);

    fake.fail("GETUPDATES", Failure::Conflict { times: 1 });
    let err = bot.get_updates().await.expect_err("409");
    assert!(
        matches!(err, RequestError::Api(ApiError::TerminatedByOtherGetUpdates)),
        "{err:?}"
    );
    assert!(bot.get_updates().await?.is_empty());

    // "Not Found" is what teloxide calls an invalid token.
    fake.fail("sendChatAction", Failure::NotFound);
    for _ in 0..2 {
        let err = bot
            .send_chat_action(ChatId(1), ChatAction::Typing)
            .await
            .expect_err("404");
        assert!(
            matches!(err, RequestError::Api(ApiError::InvalidToken)),
            "{err:?}"
        );
    }
    fake.clear_failures("sendchataction");
    bot.send_chat_action(ChatId(1), ChatAction::Typing).await?;

    // Failures queue up; a blocked chat comes after them.
    fake.block_chat(5);
    fake.fail("sendMessage", Failure::RetryAfter { secs: 1, times: 1 });
    fake.fail("sendMessage", Failure::NotFound);
    let first = bot.send_message(ChatId(5), "x").await.expect_err("429");
    assert!(matches!(first, RequestError::RetryAfter(_)), "{first:?}");
    let second = bot.send_message(ChatId(5), "x").await.expect_err("404");
    assert!(
        matches!(second, RequestError::Api(ApiError::InvalidToken)),
        "{second:?}"
    );
    fake.clear_failures("sendMessage");
    let third = bot.send_message(ChatId(5), "x").await.expect_err("403");
    assert!(
        matches!(third, RequestError::Api(ApiError::BotBlocked)),
        "{third:?}"
    );
    Ok(())
}

/// teloxide waits 10 s before reporting a 5xx, so the 500 is checked with a plain HTTP client.
#[tokio::test]
async fn server_error_and_malformed_requests() -> TestResult {
    let fake = FakeTelegram::start().await;
    let http = reqwest::Client::new();
    let url = format!("{}bot123:TEST/sendMessage", fake.url());
    fake.fail("sendmessage", Failure::ServerError { times: 1 });

    let resp = http
        .post(&url)
        .json(&json!({"chat_id": 1, "text": "x"}))
        .send()
        .await?;
    assert_eq!(resp.status(), 500);
    let body: Value = resp.json().await?;
    assert_eq!(
        body,
        json!({"ok": false, "error_code": 500, "description": "Internal Server Error"})
    );

    let resp = http
        .post(&url)
        .json(&json!({"chat_id": 1, "text": "x"}))
        .send()
        .await?;
    assert_eq!(resp.status(), 200);

    // Not JSON, not an object, missing fields, wrong path: 400/404, never a dead server.
    let resp = http
        .post(&url)
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await?;
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await?;
    assert_eq!(body["ok"], false);
    assert_eq!(body["error_code"], 400);
    assert!(
        body["description"]
            .as_str()
            .is_some_and(|d| d.starts_with("Bad Request: ")),
        "{body}"
    );
    let resp = http.post(&url).json(&json!([1, 2])).send().await?;
    assert_eq!(resp.status(), 400);
    let resp = http.post(&url).json(&json!({"text": "no chat"})).send().await?;
    assert_eq!(resp.status(), 400);
    let resp = http
        .post(&url)
        .json(&json!({"chat_id": {"x": 1}, "text": "y"}))
        .send()
        .await?;
    assert_eq!(resp.status(), 400);
    let resp = http
        .post(&url)
        .header("content-type", "multipart/form-data; boundary=zzz")
        .body("--zzz\r\nbroken")
        .send()
        .await?;
    assert_eq!(resp.status(), 400);
    let resp = http.post(format!("{}nobot/getMe", fake.url())).send().await?;
    assert_eq!(resp.status(), 404);
    let resp = http.post(format!("{}a/b/c", fake.url())).send().await?;
    assert_eq!(resp.status(), 404);

    let calls = fake.calls_of("sendmessage");
    assert_eq!(
        calls[2].body,
        json!("{nope"),
        "the raw text of a non-JSON body is recorded"
    );
    assert_eq!(
        calls.iter().map(|c| c.status).collect::<Vec<_>>(),
        [500, 200, 400, 400, 400, 400, 400]
    );
    bot(&fake)?.get_me().await?;
    Ok(())
}

#[tokio::test]
async fn pushed_messages_come_back_from_get_updates() -> TestResult {
    let fake = FakeTelegram::start().await;
    let bot = bot(&fake)?;

    let private = fake.push_message(
        &IncomingMessage::private(42, "/start")
            .lang("pl")
            .username("alice"),
    );
    let topic = fake
        .push_message(&IncomingMessage::private(7, "/report@chainsignal_test_bot BTC").in_topic(-1001, 55));
    let group = fake.push_message(
        &IncomingMessage::private(7, "hello")
            .in_group(-5)
            .from_user(8, "Bob"),
    );
    let raw = fake.push_update(json!({"message": {
        "message_id": 999, "date": 1_700_000_000, "chat": {"id": -100777, "type": "supergroup", "title": "S"},
        "from": {"id": 9, "is_bot": false, "first_name": "Eve"}, "text": "plain",
    }}));
    assert_eq!([private, topic, group, raw], [1, 2, 3, 4]);
    assert_eq!(fake.push_update(json!({"update_id": 10, "message": {}})), 10);
    assert_eq!(fake.pending_updates(), 5);

    let updates = bot.get_updates().timeout(1).limit(4).await?;
    assert_eq!(updates.len(), 4);

    let m = message_of(&updates[0]);
    assert!(m.chat.is_private());
    assert_eq!(m.chat.id, ChatId(42));
    assert_eq!(m.chat.username(), Some("alice"));
    let from = m.from.as_ref().expect("from");
    assert_eq!(from.language_code.as_deref(), Some("pl"));
    assert_eq!(from.first_name, "Alice");
    assert_eq!(m.text(), Some("/start"));
    let entities = m.entities().expect("entities");
    assert_eq!((entities[0].offset, entities[0].length), (0, 6));
    assert_eq!(entities[0].kind, MessageEntityKind::BotCommand);
    assert_eq!(m.thread_id, None);

    let m = message_of(&updates[1]);
    assert!(m.chat.is_supergroup());
    assert_eq!(m.chat.id, ChatId(-1001));
    assert_eq!(m.thread_id, Some(ThreadId(MessageId(55))));
    assert!(m.is_topic_message);
    let entities = m.entities().expect("entities");
    assert_eq!(entities[0].length, "/report@chainsignal_test_bot".len());
    assert_eq!(m.from.as_ref().and_then(|u| u.language_code.clone()), None);

    let m = message_of(&updates[2]);
    assert!(m.chat.is_group());
    assert_eq!(m.chat.title(), Some("Group -5"));
    assert_eq!(m.from.as_ref().map(|u| u.id.0), Some(8));
    assert!(m.entities().is_none_or(<[_]>::is_empty));

    assert!(message_of(&updates[3]).chat.is_supergroup());

    // Not confirmed yet: the same updates again.
    assert_eq!(bot.get_updates().await?.len(), 5);
    // Confirm the first four.
    let rest = bot.get_updates().offset(5).await?;
    assert_eq!(rest.len(), 1);
    assert!(
        matches!(rest[0].kind, UpdateKind::Error(_)),
        "an empty message does not parse"
    );
    assert_eq!(fake.pending_updates(), 1);
    // Drop pending updates as teloxide does (offset -1 keeps the last one).
    fake.push_message(&IncomingMessage::private(1, "x"));
    bot.get_updates().offset(-1).await?;
    assert_eq!(fake.pending_updates(), 1);
    bot.get_updates().offset(12).timeout(0).await?;
    assert_eq!(fake.pending_updates(), 0);

    // The bot's replies carry the chat kind and topic of what it answers.
    let sent = bot
        .send_message(ChatId(-1001), "in topic")
        .message_thread_id(ThreadId(MessageId(55)))
        .await?;
    assert_eq!(sent.thread_id, Some(ThreadId(MessageId(55))));
    assert!(sent.is_topic_message);
    assert!(sent.chat.is_supergroup());
    assert_eq!(fake.calls_of("sendmessage")[0].body["message_thread_id"], 55);
    Ok(())
}

#[tokio::test]
async fn pushed_json_deserializes_as_teloxide_update() -> TestResult {
    let fake = FakeTelegram::start().await;
    let http = reqwest::Client::new();
    for m in [
        IncomingMessage::private(42, "/start").lang("en"),
        IncomingMessage::private(42, "/ßtart 😀").in_supergroup(-100),
        IncomingMessage::private(42, "hi").in_topic(-100, 3),
    ] {
        fake.push_message(&m);
    }
    let body: Value = http
        .post(format!("{}bot1:T/getUpdates", fake.url()))
        .send()
        .await?
        .json()
        .await?;
    // NB: teloxide's `UpdateKind` only deserializes from text: `serde_json::from_value` turns
    // every update into `UpdateKind::Error` (it asks the map for a borrowed `&str` key).
    let updates: Vec<Update> = serde_json::from_str(&body["result"].to_string())?;
    assert_eq!(updates.len(), 3);
    let kinds: Vec<bool> = updates
        .iter()
        .map(|u| message_of(u).chat.is_supergroup())
        .collect();
    assert_eq!(kinds, [false, true, true]);
    // UTF-16 length: "/ßtart" is 6 units.
    assert_eq!(body["result"][1]["message"]["entities"][0]["length"], 6);
    assert_eq!(body["result"][2]["message"]["chat"]["is_forum"], true);
    assert_eq!(
        ChatType::ForumSupergroup,
        IncomingMessage::private(1, "").in_topic(-1, 2).chat_type
    );
    Ok(())
}

#[tokio::test]
async fn get_updates_long_polls() -> TestResult {
    let fake = FakeTelegram::start().await;
    let bot = bot(&fake)?;

    let started = tokio::time::Instant::now();
    assert!(bot.get_updates().timeout(0).await?.is_empty());
    assert!(bot.get_updates().await?.is_empty());
    assert!(
        started.elapsed() < Duration::from_millis(300),
        "no timeout: answered at once"
    );

    let started = tokio::time::Instant::now();
    assert!(bot.get_updates().timeout(30).await?.is_empty());
    let held = started.elapsed();
    assert!(
        held >= MAX_LONG_POLL - Duration::from_millis(50) && held < Duration::from_secs(3),
        "{held:?}"
    );

    // A push wakes a waiting poll.
    let poll = tokio::spawn({
        let bot = bot.clone();
        async move { bot.get_updates().timeout(30).await }
    });
    fake.wait_for_calls("getupdates", 4, WAIT).await;
    let started = tokio::time::Instant::now();
    fake.push_message(&IncomingMessage::private(3, "wake up"));
    let updates = poll.await??;
    assert_eq!(updates.len(), 1);
    assert!(started.elapsed() < MAX_LONG_POLL, "{:?}", started.elapsed());
    Ok(())
}

#[tokio::test]
async fn webhook_commands_and_other_methods() -> TestResult {
    let fake = FakeTelegram::start().await;
    let bot = bot(&fake)?;

    assert_eq!(bot.get_webhook_info().await?.url, None);
    bot.set_webhook("https://example.invalid/hook".parse()?)
        .secret_token("s3cret")
        .await?;
    let info = bot.get_webhook_info().await?;
    assert_eq!(
        info.url.map(String::from),
        Some("https://example.invalid/hook".to_owned())
    );
    let hook = fake.webhook().expect("webhook set");
    assert_eq!(hook.secret_token.as_deref(), Some("s3cret"));
    let err = bot.get_updates().await.expect_err("webhook is active");
    assert!(
        matches!(err, RequestError::Api(ApiError::CantGetUpdates)),
        "{err:?}"
    );
    bot.delete_webhook().await?;
    assert_eq!(bot.get_webhook_info().await?.url, None);
    assert_eq!(fake.webhook(), None);

    assert!(bot.get_my_commands().await?.is_empty());
    bot.set_my_commands([BotCommand::new("start", "Start the bot")])
        .await?;
    assert_eq!(
        bot.get_my_commands().await?,
        [BotCommand::new("start", "Start the bot")]
    );
    assert!(bot.get_my_commands().language_code("pl").await?.is_empty());
    bot.delete_my_commands().await?;
    assert!(bot.get_my_commands().await?.is_empty());

    bot.send_chat_action(ChatId(42), ChatAction::Typing).await?;
    let sent = bot.send_message(ChatId(42), "v1").await?;
    let edited = bot.edit_message_text(ChatId(42), sent.id, "v2").await?;
    assert_eq!(edited.id, sent.id);
    assert_eq!(edited.text(), Some("v2"));
    assert!(edited.edit_date().is_some());
    bot.delete_message(ChatId(42), sent.id).await?;
    let photo = InputFile::memory(vec![0x89, b'P', b'N', b'G']).file_name("chart.png");
    let sent = bot.send_photo(ChatId(42), photo).await?;
    assert_eq!(sent.photo().map(<[_]>::len), Some(1));
    assert_eq!(
        fake.calls_of("sendphoto")[0].body["photo"]["filename"],
        "chart.png"
    );
    Ok(())
}

/// The whole loop: teloxide's polling dispatcher answers a pushed command, then confirms the
/// update on shutdown.
#[tokio::test]
async fn dispatcher_round_trip() -> TestResult {
    let fake = FakeTelegram::start().await;
    let bot = bot(&fake)?;
    let update_id = fake.push_message(&IncomingMessage::private(42, "/start").lang("pl"));

    let handler = Update::filter_message().endpoint(|bot: Bot, msg: Message| async move {
        let lang = msg.from.and_then(|u| u.language_code).unwrap_or_default();
        bot.send_message(msg.chat.id, format!("hello [{lang}]")).await?;
        respond(())
    });
    let listener = Polling::builder(bot.clone())
        .timeout(Duration::from_secs(10))
        .delete_webhook()
        .await
        .build();
    let mut dispatcher = Dispatcher::builder(bot, handler).build();
    let token = dispatcher.shutdown_token();
    let running = tokio::spawn(async move {
        dispatcher
            .dispatch_with_listener(listener, LoggingErrorHandler::new())
            .await;
    });

    let replies = fake.wait_for_calls("sendmessage", 1, WAIT).await;
    assert_eq!(replies[0].body["text"], "hello [pl]");
    assert_eq!(replies[0].chat_id(), Some(42));

    token.shutdown()?.await;
    running.await?;
    let polls = fake.calls_of("getupdates");
    let last = polls.last().expect("polled");
    assert_eq!(
        last.body["offset"],
        update_id + 1,
        "the update is confirmed on shutdown"
    );
    assert_eq!(last.body["timeout"], 0);
    assert_eq!(fake.pending_updates(), 0);
    Ok(())
}
