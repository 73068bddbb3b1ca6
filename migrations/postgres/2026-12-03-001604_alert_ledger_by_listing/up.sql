-- The alert ledger keyed by listing first. A listing's alerts are written together, 1,500 of
-- them for a popular listing; keyed by saved search first, each went to a random place in the
-- key's index. Keyed by listing, they go side by side at its end.
--
-- Nothing finds one saved search's records any more, so deleting a search leaves them. They
-- can never alert again: a BIGSERIAL id is never used twice, so no later search inherits
-- them. Listings are never deleted.
ALTER TABLE saved_search_alerts
    DROP CONSTRAINT saved_search_alerts_pkey,
    ADD PRIMARY KEY (listing_id, saved_search_id);
