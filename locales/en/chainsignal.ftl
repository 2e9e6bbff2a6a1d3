# Chainsignal, English. Every user-facing sentence lives here and in ../pl.

## Commands: their one-line help (also Discord/Telegram command descriptions)
cmd-start = Start: a greeting and the commands
cmd-help = Show the commands and how to use them
cmd-report = Market report: close, 24h / 3D / 7D change, ATR 3D / 7D
cmd-lang = Switch the language of this chat (en, pl)

## demo
demo-banner = Chainsignal demo: synthetic prices (demo data, not the market), a throw-away database, and a demo schedule that posts a report here at every full minute. Type /help for the commands; end of input (Ctrl-D) quits.

## /start
start-greeting = Hi { $name }! I am Chainsignal: market reports for crypto traders, right in this chat.
start-greeting-anonymous = Hi! I am Chainsignal: market reports for crypto traders, right in this chat.

## /help
help-title = Chainsignal commands
help-symbols = Symbols can be written as btc, BTC, BTCUSDT or BTC/USDT. Without symbols, /report uses the watchlist.

## /report
report-title = Market report
report-title-demo = Market report (demo data)
report-col-symbol = Symbol
report-col-close = Close
report-col-24h = 24h
report-col-3d = 3D
report-col-7d = 7D
report-col-atr3 = ATR 3D
report-col-atr7 = ATR 7D
report-source-binance = Binance
report-source-demo = demo data (synthetic prices, not the market)
report-footer = Source: { $source } · { $time } UTC
report-not-included = Not included:
report-no-rows = No symbol could be reported.
report-too-many-symbols = At most { $max } symbols in one report, please.
action-refresh = Refresh

## Why a symbol is missing from a report
symbol-invalid = “{ $symbol }” is not a symbol. Write it like btc, BTCUSDT or BTC/USDT.
symbol-unknown = { $symbol }: the exchange does not list this symbol.
symbol-rate-limited = { $symbol }: the exchange is limiting requests; try again in a minute.
symbol-timeout = { $symbol }: the exchange did not answer in time.
symbol-exchange-unavailable = { $symbol }: the exchange is unavailable right now.
symbol-exchange-rejected = { $symbol }: the exchange refused the request.
symbol-invalid-data = { $symbol }: the exchange sent data that could not be read.
symbol-insufficient-history = { $symbol }: not enough price history yet.
symbol-too-many = { $symbol }: left out, at most { $max } symbols in one report.

## /summary
cmd-summary = Market summary in this chat's language: trend, volatility, movers, signals
summary-title-ai = AI market summary
summary-title-rules = Market summary (rule-based, not AI)
summary-model = model { $model }
summary-nfa = Not financial advice.
summary-ai-unavailable = AI is unavailable right now; this summary is computed from the numbers.
summary-ai-timeout = The AI did not answer in time; this summary is computed from the numbers.
summary-cooldown = One AI summary a minute, please: try again in { $seconds } s.
summary-budget-user = You have used today's AI budget; it renews at 00:00 UTC. /report still works.
summary-budget-total = Today's AI budget is used up; it renews at 00:00 UTC. /report still works.
summary-trend-up = Trend: up, { $day } on average over 24 hours and { $week } over 7 days.
summary-trend-down = Trend: down, { $day } on average over 24 hours and { $week } over 7 days.
summary-trend-sideways = Trend: sideways, { $day } on average over 24 hours and { $week } over 7 days.
summary-trend-mixed = Trend: mixed, { $day } on average over 24 hours but { $week } over 7 days.
summary-volatility-low = Volatility: low (average daily ATR 7D { $atr }).
summary-volatility-moderate = Volatility: moderate (average daily ATR 7D { $atr }).
summary-volatility-high = Volatility: high (average daily ATR 7D { $atr }).
summary-movers = Strongest over 24h: { $best } { $best_change }; weakest: { $worst } { $worst_change }.
summary-signals = Moves beyond the usual range (24h change larger than ATR 3D): { $symbols }.
summary-signals-none = No move beyond the usual range (ATR 3D).
ai-system-prompt = You are a concise crypto market analyst. Write in English, in plain text without Markdown, at most 8 sentences. Cover the overall trend, volatility, notable movers and possible signals, using only the numbers given. Do not invent numbers and do not give investment advice.
ai-user-prompt = Market report at { $time } UTC, source { $source }. Per symbol: last close, percent change over 24 hours, 3 days and 7 days, and ATR over 3 and 7 days as a percent of the price.
    { $table }

## /subscribe, /unsubscribe
cmd-subscribe = Receive scheduled reports or market alerts in this chat (chat admins)
cmd-unsubscribe = Stop scheduled reports or alerts in this chat (chat admins)
subscribe-usage = Usage: /subscribe reports or /subscribe alerts; /unsubscribe [reports|alerts].
subscribed-reports = This chat now receives the scheduled market reports.
subscribed-alerts = This chat now receives market alerts.
already-subscribed-reports = This chat already receives the scheduled market reports.
already-subscribed-alerts = This chat already receives market alerts.
unsubscribed = Done: this chat no longer receives them.
not-subscribed = This chat was not subscribed.
permission-chat-admin = Only the chat's administrators (or the bot's admins) can do that.
permission-bot-admin = Only the bot's admins can do that.

## /schedule
cmd-schedule = Scheduled reports: list, add, remove, rename (admins)
schedule-usage = Usage: /schedule list; /schedule add NAME MIN HOUR DAY MONTH WEEKDAY ZONE [report|summary|report+summary] [symbols…], e.g. /schedule add evening 0 20 * * * Europe/Warsaw; /schedule remove NAME.
schedule-title = Scheduled reports
schedule-line = { $name }: { $cron } ({ $zone }), { $kind }, { $symbols }; next { $next }; { $origin }
schedule-watchlist = the watchlist
schedule-from-config = from the config file
schedule-from-chat = added in chat
schedule-footer = Now: { $time } UTC
schedule-none = No schedules.
schedule-added = Schedule { $name } added; next run { $next } ({ $zone }).
schedule-removed = Schedule { $name } removed.
schedule-exists = A schedule named { $value } already exists.
schedule-unknown = There is no schedule named { $value }.
schedule-in-config = Schedule { $value } comes from the config file; change it there.
schedule-bad-name = That cannot be a schedule name: letters, digits, - and _ only, at most 32 (not case-sensitive).
schedule-bad-cron = “{ $value }” is not a cron expression: five fields, minute hour day month weekday.
schedule-bad-zone = “{ $value }” is not a time zone; use a name like Europe/Warsaw.
schedule-cron-count = A schedule needs five cron fields before the time zone: minute hour day month weekday.
schedule-field-minute = minute
schedule-field-hour = hour
schedule-field-day = day
schedule-field-month = month
schedule-field-weekday = weekday
schedule-cron-syntax = The { $field } field “{ $value }” is not valid: use *, a number, a range like 1-5, a list like 1,15 or a step like */15.
schedule-cron-syntax-names = The { $field } field “{ $value }” is not valid: use *, a number or a name ({ $names }), a range like { $range }, a list or a step like */2.
schedule-cron-digits = The { $field } field “{ $value }”: numbers are digits only, one or two of them (5 or 05), without a sign.
schedule-cron-range = The { $field } field “{ $value }” is out of range: { $min } to { $max }.
schedule-cron-backwards = The { $field } field “{ $value }”: a range goes from low to high, like 1-5.
schedule-cron-step = The { $field } field “{ $value }”: the step after / is a number from 1 to { $max }.
schedule-cron-never = “{ $value }” never fires: no date matches its day and month fields.
schedule-kind-misplaced = “{ $value }” is a kind: write it once, right after the time zone (report, summary or report+summary).

## Scheduled posts and alerts
scheduled-report-title = Scheduled report: { $name }
alert-move-up = { $symbol } rose { $change } in the last hour, now { $price }.
alert-move-down = { $symbol } fell { $change } in the last hour, now { $price }.
alert-volatility = { $symbol }: volatility is rising, ATR 3D { $atr3 } against ATR 7D { $atr7 }.
alert-title = Market alert
target-disabled = A scheduled-post target was disabled after { $count } refusals in a row: { $target }.

## /lang
lang-set = Language of this chat: English.
lang-usage = Usage: /lang en or /lang pl. Current language: { $current }.
lang-name-en = English
lang-name-pl = Polish

## Errors
error-unknown-command = Unknown command /{ $command }. Send /help for the list.
error-not-a-command = That is not a command. Send /help for the list.
error-too-long = That message is too long for a command.
error-not-utf8 = That line is not valid UTF-8 text; nothing was run.
error-internal = Something went wrong on our side. It has been logged; please try again later.

## Commands v2: typed options, buttons, request ids, rate limits
usage-line = Usage: { $usage }
option-missing = “{ $option }” is missing.
option-too-many = Too many arguments: “{ $extra }” is more than the command takes.
option-unknown-sub = “{ $given }” is not one of this command's actions.
option-unknown-name = This command has no option “{ $given }”.
option-repeated = “{ $option }” is given twice.
option-bad-decimal = { $option }: “{ $given }” is not a number. Write it like 0.5 or 250 (a dot for decimals, no exponent).
option-decimal-comma = { $option }: “{ $given }” has a comma. Write decimals with a dot and no thousands separators, like 1000.5.
option-not-positive = { $option }: “{ $given }” must be greater than zero.
option-bad-integer = { $option }: “{ $given }” must be a whole number from { $min } to { $max }.
option-bad-choice = { $option }: “{ $given }” is not one of { $choices }.
option-bad-duration = { $option }: “{ $given }” is not a duration. Write it like 30s, 15m, 2h or 7d (at most { $max }).
option-bad-symbol = { $option }: “{ $given }” is not a symbol. Write it like btc, BTCUSDT or BTC/USDT.
option-bad-user = { $option }: “{ $given }” is not a user. Write @username or a numeric id, or reply to their message.
option-too-long = { $option }: the value is too long.
option-secret-in-public = { $option } is secret: give it only in a private chat with the bot.
rate-limited = Slow down: try again in { $seconds } s.
request-already-handled = This request was handled already.
button-confirm = Confirm
button-cancel = Cancel
action-cancelled = Cancelled. Nothing was done.
action-already-done = This was already answered; nothing was done again.
action-not-yours = This button is for the person who asked.
action-expired = This button has expired. Run the command again.
action-unknown = This button is no longer valid.
option-symbols = Symbols, e.g. btc eth or BTC/USDT; empty: the watchlist
option-language = Language
option-subscription = What to receive: reports or alerts
option-schedule-name = The schedule's name (letters, digits, - and _)
option-schedule-definition = MIN HOUR DAY MONTH WEEKDAY ZONE [report|summary|report+summary] [symbols…]
sub-schedule-list = List the schedules
sub-schedule-add = Add a scheduled report
sub-schedule-remove = Remove a scheduled report
schedule-remove-confirm = Remove schedule { $name } ({ $cron }, { $zone })? Its posts stop.
sub-schedule-rename = Rename a scheduled report
option-schedule-new-name = The new name (letters, digits, - and _)
schedule-rename-confirm = Rename schedule { $name } to { $new }?
schedule-renamed = Schedule { $name } is now { $new }.

## Telegram v2
# A private answer (an error, anything meant for one person) asked for in a group, when
# the bot cannot write to the asker privately. Never carries the private content.
telegram-open-private = { $name }, I can only answer you privately: open a private chat with @{ $bot }, press Start, then ask again.
telegram-anonymous = Commands are for people writing as themselves: anonymous administrators and channels cannot use them. Turn off "Remain anonymous" or write from your own account.
option-start-payload = A start parameter (from a link)
option-help-command = A command to explain

## /keys
cmd-keys = Your exchange API keys, sealed by the vault
sub-keys-add = Add an exchange API key (asked privately)
option-keys-exchange = Exchange: binance or binance-testnet
option-keys-api-key = API key
option-keys-secret = API secret
option-keys-label = Label (default: the exchange's name)
form-keys = Add an exchange API key
keys-usage = Usage: /keys add binance|binance-testnet [label=NAME], /keys list, /keys test [LABEL], /keys remove LABEL. The API key and secret are asked privately; in a private Telegram chat: /keys add binance-testnet API_KEY SECRET.
keys-vault-disabled = Exchange keys are not enabled here: the operator has not configured a vault key.
keys-private-only = Exchange keys are only taken in a private chat with the bot. Open one and send /keys there.
keys-missing-secrets = Both the API key and the secret are needed. On Telegram: /keys add binance-testnet API_KEY SECRET in a private chat with the bot.
keys-bad-secret = That does not look like an API key and secret (8 to 256 characters each, no spaces). Nothing was stored.
keys-bad-label = A label is at most { $max } letters, digits, dots, - or _.
keys-label-taken = You already have a key labelled { $label }. Choose another label.
keys-added = Key { $label } for { $exchange } stored, sealed: { $mask }.
sub-keys-list = List your exchange keys (masked), with their age
sub-keys-remove = Remove an exchange key
sub-keys-test = Check a stored key (or each) with its exchange again
option-keys-label-of = The key's label
option-keys-label-test = The key's label (default: every key)
keys-venue-live = live
keys-venue-testnet = testnet
keys-none = You have no exchange keys. Add one with /keys add binance-testnet.
keys-never-used = never
keys-list-title = Your exchange keys
keys-list-line = { $label } · { $exchange } ({ $venue }) · { $mask } · added { $added } · last used { $used } · { $age } days old
keys-list-old = ⚠ older than { $max } days: create a new key on the exchange, add it, and remove this one.
keys-unknown = You have no key labelled { $label }. /keys list shows yours.
keys-remove-confirm = Remove key { $label } ({ $exchange }, { $mask })? It is forgotten here; delete it on the exchange too.
keys-removed = Key { $label } removed. Delete it on the exchange too.
keys-test-ok = Key { $label } ({ $mask }) works.
keys-test-failed = Key { $label } ({ $mask }) was refused:
keys-test-unopenable = Key { $label } ({ $mask }) cannot be opened: it was changed in the database, belongs to another account, or its vault key is no longer configured. Remove it and add it again.
keys-invalid-key = The exchange refused the key: invalid key, or this server's IP is not allowed for it (Binance says the same for both). Check the key and its IP list. Nothing was stored.
keys-bad-signature = The exchange refused the signature: the secret does not belong to this API key. Nothing was stored.
keys-ip-not-allowed = The key does not allow this server's IP address. Add it to the key's IP list on the exchange. Nothing was stored.
keys-clock-skew = This server's clock is too far from the exchange's. The operator should synchronise it (NTP); then try again. Nothing was stored.
keys-withdrawals-enabled = The key may withdraw funds: a live key must have withdrawals disabled. Disable them on the exchange and try again. Nothing was stored.
keys-no-ip-restriction = The key has no IP restriction: a live key must be restricted to trusted IP addresses. Set its IP list on the exchange and try again. Nothing was stored.
keys-exchange-down = The exchange did not answer properly; the key could not be checked. Try again later. Nothing was stored.
keys-rate-limited = The exchange asks to slow down; the key could not be checked. Try again in a minute. Nothing was stored.
keys-reminder-line = { $label } ({ $age } days)
keys-reminder = Your exchange keys older than { $max } days: { $keys }. Create new keys on the exchange, add them with /keys add and remove the old ones with /keys remove.
keys-form-link = Open this one-time link to enter the API key and secret for { $exchange }. It works once, for { $minutes } minutes; do not share it: { $url }
keys-form-title = Add an exchange API key
keys-form-intro = For { $exchange }. This page works once, for { $minutes } more minutes. The key and the secret go to the bot only and are stored sealed; they never appear in the chat.
keys-form-submit = Store the key
keys-form-gone = This link is not valid: it may have expired or been used already. Send /keys add in your private chat with the bot for a new one.
keys-form-csrf = This form could not be verified. Open the link from the chat again and send the form from that page.
keys-form-bad = The form could not be read. Open the link from the chat again.
keys-form-done = Done: the chat has the answer too. You can close this page.
keys-form-again = This link is now used. Send /keys add { $exchange } in your private chat with the bot for a new one.
secret-message-deleted = I deleted your message: it was for a command that takes secrets.
secret-message-not-deleted = Your message may hold a secret and I could not delete it: delete it yourself now.
console-secret-prompt = { $label } (not shown as you type):
## Accounts, roles, approval (issue 13)
access-blocked = Your access to this bot is blocked.
access-pending = Your access is awaiting an admin's approval. Meanwhile you can use /start, /help and /link.
access-unavailable = The bot is temporarily unavailable. Please try again shortly.
access-approved = Your access was approved: welcome! Send /help to see the commands.
access-denied = Your request for access was denied.
permission-read-only = Your account is read-only (viewer): you cannot change anything.
permission-owner = Only the bot's owner can do that.
cmd-link = Link your accounts on Discord and Telegram: /link shows a code, /link CODE uses it
cmd-unlink = Remove this platform's identity from your account
cmd-whoami = Your account, its identities and role
cmd-admin = Admin commands: status, users, approve, deny, block, unblock, role, audit, broadcast
option-link-code = The code /link showed on your other platform
option-admin-user = The person (a user, @username, numeric id or #account)
option-admin-role-filter = Only accounts with this role
option-admin-role = The new role
option-admin-page = Page number
option-admin-reason = Why (shown to admins only)
sub-admin-users = List accounts: name, platforms, role, last seen
sub-admin-approve = Approve a pending person
sub-admin-deny = Deny a pending person
sub-admin-block = Block a person
sub-admin-unblock = Unblock a person (they become a trader)
sub-admin-role = Give a person a role (only the owner makes admins)
sub-admin-keys = Exchange keys across accounts, by age (counts only)
admin-keys-title = Exchange keys: { $total }
admin-keys-fresh = Under { $half } days
admin-keys-aging = { $half } to { $max } days
admin-keys-old = { $max } days or older
admin-keys-live = Live (binance)
admin-keys-testnet = Testnet (binance-testnet)
admin-keys-accounts = Accounts with keys
admin-keys-accounts-old = Accounts with old keys
link-code = Your link code: { $code }
    Within { $minutes } minutes, send /link { $code } on your other platform (Discord or Telegram). It works once.
link-done = Linked: this identity now belongs to account { $account } ({ $platforms }).
link-same-account = This code belongs to your own account: nothing to link.
link-both-own-data = Both accounts already have data of their own (exchange keys or AI usage), and nothing is merged silently. Link from a new, empty identity, or ask an admin.
link-code-wrong = That code is not valid. { $left } more wrong codes will lock /link for 15 minutes.
link-code-expired = That code has expired: run /link on your other platform for a new one. { $left } more wrong codes will lock /link for 15 minutes.
link-code-used = That code was already used: run /link on your other platform for a new one. { $left } more wrong codes will lock /link for 15 minutes.
link-locked = Too many wrong codes: /link is locked for { $minutes } more minutes.
unlink-last = This is your account's only identity: there is nothing to unlink it from.
unlink-confirm = Remove this { $platform } identity from your account? It gets a new, empty account of its own.
unlink-done = Unlinked: this { $platform } identity is now account { $account }.
whoami = Account { $account }, role: { $role }. Identities:
button-approve = Approve
button-deny = Deny
approval-request = New person awaiting approval: { $name } on { $platform }, account { $account }.
approval-approved = { $name } was approved by { $by }.
approval-denied = { $name } was denied by { $by }.
approval-already-decided = Already decided by { $by } ({ $name }).
admin-not-pending = { $name } is not awaiting approval.
admin-user-unknown = I don't know anyone called { $user }. They must have used the bot once; or use their #account from /admin users.
admin-user-ambiguous = More than one person is called { $user }: use their #account from /admin users.
admin-owner-fixed = { $name } is an owner (from the config file): their role cannot be changed from chat.
admin-blocked = { $name } is now blocked.
admin-unblocked = { $name } is no longer blocked (role: { $role }).
admin-not-blocked = { $name } is not blocked.
admin-role-set = { $name } now has the role { $role }.
admin-users-title = Accounts, page { $page } of { $pages } ({ $total } in all)
admin-users-line = { $account } { $name } · { $platforms } · { $role } · last seen { $seen } · positions { $positions } · keys { $keys }
admin-users-none = No accounts on this page.
## Audit and admin (issue 13)
cmd-audit = Your own last 20 actions, on every platform you use
sub-admin-status = Version, uptime, database, adapters, schedules, last errors
sub-admin-audit = The audit log, newest first (CSV attached above 20 rows)
sub-admin-broadcast = Send a message to every subscribed chat (after confirming)
option-admin-audit-user = Only this person's actions (@username, id, or reply to them)
option-admin-audit-command = Only this command, e.g. report
option-admin-audit-since = How far back, e.g. 2h or 7d (default 24h)
option-admin-audit-n = At most this many rows (default 20)
option-admin-broadcast-text = The message to send
audit-title = Your last actions
audit-none = Nothing recorded yet.
audit-col-time = Time (UTC)
audit-col-platform = Platform
audit-col-command = Command
audit-col-outcome = Outcome
audit-footer-utc = Newest first; times in UTC.
audit-outcome-ok = ok
audit-outcome-user-error = not understood
audit-outcome-denied = denied
audit-outcome-failed = failed
admin-audit-title = Audit since { $since } UTC: { $count } rows
admin-audit-none = No audit rows match.
admin-audit-col-who = Who
admin-audit-attached = The first { $shown } of { $count } rows; all of them are in the attached CSV.
admin-audit-unknown-user = { $user } has never used the bot.
admin-audit-user-by-id = { $user }: usernames are not kept; give the numeric id, or reply to one of their messages.
admin-status-title = Status
admin-status-version = Version
admin-status-uptime = Uptime
admin-status-database = Database
admin-status-adapters = Adapters
admin-status-ai-tokens = AI tokens today
admin-status-positions = Open positions
admin-status-approvals = Pending approvals
admin-status-connected = connected
admin-status-disconnected = disconnected
admin-status-schedules = Next scheduled runs:
admin-status-errors = Last errors:
admin-broadcast-empty = Write the message after /admin broadcast.
admin-broadcast-too-long = The message is too long: at most { $max } characters.
admin-broadcast-preview = Send this to { $count } subscribed chats?
admin-broadcast-queued = Broadcast #{ $id } is on its way to { $count } chats.
broadcast-title = Announcement

## Role names (shown in /whoami, /admin users, role changes)
role-owner = owner
role-admin = admin
role-trader = trader
role-viewer = viewer
role-pending = pending
role-blocked = blocked
