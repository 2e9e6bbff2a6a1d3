-- One order-placing step at a time per trading account, across instances (issue 15/16):
-- an open (its risk check, its send, its record) or a paper reset holds this lease, so
-- two Confirms handled by two instances at once cannot both pass the risk check against
-- the same positions. The lease expires on its own if its holder dies.
ALTER TABLE trading_accounts ADD COLUMN order_lease_by TEXT;
ALTER TABLE trading_accounts ADD COLUMN order_lease_until TIMESTAMPTZ;
