CREATE OR REPLACE FUNCTION search_eras(id BIGINT, v tsvector, category TEXT, condition TEXT,
                                       price_cents BIGINT)
RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT search_eras(id, v, category, condition) || CASE WHEN price_cents IS NULL
    THEN ''::tsvector
    ELSE array_to_tsvector(ARRAY[(id >> 14)::text || '. price '
                                 || search_price_bucket(price_cents)::text]) END
$$;

REINDEX INDEX listings_search_eras;
