-- Positions and orders (issue 15), on paper and on a Binance spot exchange. Every
-- amount is a decimal written as TEXT (rust_decimal's exact form): no float touches a
-- quantity, price, fee or PnL. No secret is ever stored here.

-- Per account: where /open trades, and the paper account's current run.
CREATE TABLE trading_accounts (
    user_id          INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    -- paper | testnet | live
    venue            TEXT NOT NULL DEFAULT 'paper',
    -- An admin allowed /mode live for this account (also needs trading.live_enabled).
    live_allowed     BOOLEAN NOT NULL DEFAULT FALSE,
    -- /paper reset starts a new epoch with paper_equity USDT.
    paper_epoch      INTEGER NOT NULL DEFAULT 1,
    paper_equity     TEXT NOT NULL,
    paper_started_at TEXT NOT NULL
);

CREATE TABLE positions (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id          INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    venue            TEXT NOT NULL,
    -- The paper epoch it belongs to (0 on an exchange).
    paper_epoch      INTEGER NOT NULL DEFAULT 0,
    symbol           TEXT NOT NULL,
    -- long | short
    side             TEXT NOT NULL,
    -- The base quantity held (net of a commission charged in the base asset).
    qty              TEXT NOT NULL,
    entry_price      TEXT NOT NULL,
    leverage         INTEGER NOT NULL DEFAULT 1,
    sl               TEXT,
    tp               TEXT,
    -- In USDT.
    open_fee         TEXT NOT NULL,
    opened_at        TEXT NOT NULL,
    -- The Confirm token that opened it: one position per token.
    open_token       TEXT NOT NULL UNIQUE,
    -- The exchange key (exchange_keys.id) it was opened with; NULL on paper. Closes use
    -- the same key, whatever keys the account adds later.
    key_id           INTEGER,
    -- open | closed | liquidated | reset
    status           TEXT NOT NULL DEFAULT 'open',
    -- manual | sl | tp | liquidation | reset
    close_reason     TEXT,
    exit_price       TEXT,
    close_fee        TEXT,
    -- Net of both fees, in USDT.
    realized_pnl     TEXT,
    -- Base quantity left after closing at the step (shown, not lost).
    dust             TEXT,
    closed_at        TEXT,
    -- A close in progress: who holds it and until when (one closer across instances).
    claimed_by       TEXT,
    claim_until      TEXT,
    close_attempts   INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT,
    -- The owner was told that closing fails (once).
    failure_told     BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX positions_user_status ON positions (user_id, status);
CREATE INDEX positions_open ON positions (status, symbol);

-- Every order request and what came back (never a key, a secret or a signature).
CREATE TABLE orders (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id           INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    position_id       INTEGER REFERENCES positions(id) ON DELETE SET NULL,
    venue             TEXT NOT NULL,
    -- The exchange key it was sent with (exchange_keys.id); NULL on paper.
    key_id            INTEGER,
    symbol            TEXT NOT NULL,
    -- BUY | SELL
    side              TEXT NOT NULL,
    -- open | close
    purpose           TEXT NOT NULL,
    -- newClientOrderId: `o` + the Confirm token (open), `c` + 24 hex of the position's
    -- open token + `-` + the attempt number (close).
    client_order_id   TEXT NOT NULL UNIQUE,
    quantity          TEXT NOT NULL,
    -- pending | filled | failed | unknown
    status            TEXT NOT NULL,
    exchange_order_id INTEGER,
    executed_qty      TEXT,
    avg_price         TEXT,
    fee_usdt          TEXT,
    -- JSON: what was asked and what came back.
    request           TEXT NOT NULL,
    response          TEXT,
    error             TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);
CREATE INDEX orders_user ON orders (user_id, created_at);
CREATE INDEX orders_status ON orders (status);
