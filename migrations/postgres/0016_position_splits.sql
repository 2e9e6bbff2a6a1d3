-- A close that fills only in part (a thin book: Binance answers EXPIRED with executedQty
-- below origQty) keeps the position open with the unsold rest when that rest is sellable,
-- and writes the sold part as its own closed row (issue 15). `split_from` links that row
-- to the position it was sold from (its id); NULL for every other position.
ALTER TABLE positions ADD COLUMN split_from BIGINT;
