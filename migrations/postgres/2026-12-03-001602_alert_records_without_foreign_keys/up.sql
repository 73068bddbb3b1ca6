-- `saved_search_alerts` is the ledger that makes an alert go out at most once per (saved
-- search, listing); it is not a relation the product reads. Its two foreign keys cost more
-- than the insert itself: each row's check locks the referenced saved search (FOR KEY SHARE,
-- a write to its row) and the listing, and a listing that alerts 1,500 searches wrote 1,500
-- ledger rows in 25-29 ms with them and 6-7 ms without. Deleting a saved search now deletes
-- its records in the same transaction (`store::saved_searches::delete`); listings are never
-- deleted. A record left by a search deleted while its alert was being written only keeps a
-- pair that can never alert again.
ALTER TABLE saved_search_alerts
    DROP CONSTRAINT saved_search_alerts_saved_search_id_fkey,
    DROP CONSTRAINT saved_search_alerts_listing_id_fkey;
