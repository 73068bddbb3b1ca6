-- What the vocabulary sweep last found of each word (NULL until it has looked): how many
-- active listings hold it (up to domain::search::WORD_COUNT_CAP), and the neighbours one edit
-- away a search for it also looks for, space-separated: for a word a few listings hold, those
-- far more hold ("camra" in one title: "camera"); for a word only listings nobody sees hold,
-- any one an active listing holds. Found off the request path, so a search reads them with
-- the word.
ALTER TABLE search_words ADD COLUMN listings BIGINT;
ALTER TABLE search_words ADD COLUMN corrections TEXT;
