-- How many active listings hold each word of the vocabulary, as the vocabulary sweep last
-- counted them (up to domain::search::WORD_COUNT_CAP; NULL until it has): a word a few
-- listings hold is still corrected to a neighbour many more hold ("camra" in one title,
-- "camera" in thousands), and a word only listings nobody sees hold, to any neighbour.
ALTER TABLE search_words ADD COLUMN listings BIGINT;
