DROP TABLE likes;
DROP TABLE listings;
