-- Shared work: a worker reserves the due handoffs and unfinished inbox messages it is about to
-- take (`reserved_until`, and its own name in `lease_owner`), so several workers on one store
-- never take the same one. A reservation that runs out (its worker died) frees the item for any
-- other. A handoff's attempt then holds it by `in_flight_until` as before, and `lease_owner`
-- says whose it is. The reservation has a column of its own so that making one moves no
-- statistics rollup (their triggers watch `in_flight_until`).
ALTER TABLE handoffs ADD COLUMN reserved_until INTEGER;
ALTER TABLE handoffs ADD COLUMN lease_owner TEXT;
ALTER TABLE intake_messages ADD COLUMN reserved_until INTEGER;
ALTER TABLE intake_messages ADD COLUMN lease_owner TEXT;
