DROP FUNCTION search_span(text);
