DROP TABLE ws_tickets;
DROP TABLE messages;
DROP TABLE conversations;
DROP TABLE notifications;
