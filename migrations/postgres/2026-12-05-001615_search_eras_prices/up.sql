-- The era index also holds each listing's price bucket, "<era>. price <bucket>", ten buckets a
-- decade from 1.00 (the R10 series: 1.00, 1.25, 1.60, 2.00, 2.50, 3.15, 4.00, 5.00, 6.30,
-- 8.00, so round prices are bounds). A search or facets call with a narrow price range (at
-- most 24 buckets, Rust's `domain::search::PRICE_BUCKETS_READ_MAX`) then finds in each era of
-- a descent only the listings in the range's buckets that match the words, and compares the
-- exact range on those few rows. Before, each era yielded every match of the words and the
-- price was compared on every one (at 1M listings "jacket" from 10.00 to 50.00: 421 of its
-- 15,873 matches, 55 ms; its facets 52 ms). Rust's `domain::search::PRICE_BUCKET_BOUNDS` is
-- the same list; a test compares them.
CREATE FUNCTION search_price_bucket(price_cents BIGINT) RETURNS INT
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT width_bucket(price_cents, ARRAY[
    100,125,160,200,250,315,400,500,630,800,
    1000,1250,1600,2000,2500,3150,4000,5000,6300,8000,
    10000,12500,16000,20000,25000,31500,40000,50000,63000,80000,
    100000,125000,160000,200000,250000,315000,400000,500000,630000,800000,
    1000000,1250000,1600000,2000000,2500000,3150000,4000000,5000000,6300000,8000000,
    10000000,12500000,16000000,20000000,25000000,31500000,40000000,50000000,63000000,80000000,
    100000000,125000000,160000000,200000000,250000000,315000000,400000000,500000000,630000000,800000000]::BIGINT[])
$$;

-- Every operator here is immutable (the bucket cast to text: `text || integer` is only
-- stable), so PostgreSQL inlines this function where the index and the queries call it, and
-- the four-argument one runs once per row as before. Not inlined, each call ran the inner
-- function anew: ~95 µs a row against ~18, and a bulk insert of 3,000 listings took twice as
-- long as with the former era index.
CREATE FUNCTION search_eras(id BIGINT, v tsvector, category TEXT, condition TEXT,
                            price_cents BIGINT)
RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT search_eras(id, v, category, condition) || CASE WHEN price_cents IS NULL
    THEN ''::tsvector
    ELSE array_to_tsvector(ARRAY[(id >> 14)::text || '. price '
                                 || search_price_bucket(price_cents)::text]) END
$$;

DROP INDEX listings_search_eras;
CREATE INDEX listings_search_eras ON listings
  USING GIN (search_eras(id, search_vector, category, condition, price_cents))
  WITH (fastupdate = off);
