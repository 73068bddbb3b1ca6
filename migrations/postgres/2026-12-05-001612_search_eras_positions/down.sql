CREATE OR REPLACE FUNCTION search_eras(id BIGINT, v tsvector) RETURNS tsvector
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT array_to_tsvector(ARRAY(
    SELECT (id >> 14)::text || '.' || w FROM unnest(tsvector_to_array(v)) w))
$$;
