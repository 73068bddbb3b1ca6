DROP TABLE removed_messages;
