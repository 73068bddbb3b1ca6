-- The era index's vector keeps each lexeme's positions and weights, so a phrase matches there
-- as in the words' own index. PostgreSQL's parser splits some words Rust takes for
-- alphanumeric into a phrase ("leather²jacket": `²` is a digit to Rust, a separator to the
-- parser, so `'leather' <-> 'jacket'`), and with lexemes alone (001611) a phrase matched no
-- listing in a window read by eras. The index holds lexemes only, the same ones, so it needs
-- no rebuild: the positions are read where GIN rechecks a phrase.
CREATE OR REPLACE FUNCTION search_eras(id BIGINT, v tsvector) RETURNS tsvector
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT regexp_replace(v::text, '''((?:[^'']|'''')+)''', '''' || (id >> 14)::text || '.\1''', 'g')::tsvector
$$;
