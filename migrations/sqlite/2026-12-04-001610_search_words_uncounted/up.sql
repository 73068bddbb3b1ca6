-- The words the vocabulary sweep has not counted yet (new ones, mostly), which each of its
-- steps looks at first, wherever its pass over the vocabulary is: a typo in a new listing's
-- title is corrected within a step or two, not when the pass comes round to it (hours, in a
-- vocabulary of 100,000 words).
CREATE INDEX search_words_uncounted ON search_words (word) WHERE listings IS NULL;
