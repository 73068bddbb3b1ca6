DROP INDEX search_words_uncounted;
