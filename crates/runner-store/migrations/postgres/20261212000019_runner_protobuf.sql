-- A runner's spec and status are stored as protobuf bytes (runner_store's runner_encoding
-- module) instead of JSON text, so that reads decode them without a text parser
-- (docs/performance.md). New columns, as on SQLite (where a STRICT table's TEXT column holds no
-- BLOB), so that both backends share their SQL: a row written from now on has its bytes here and
-- '' in `spec` and `status`; a row of an earlier version has NULL here and its JSON there, which
-- still reads, until its next write.
ALTER TABLE runners ADD COLUMN spec_proto BYTEA, ADD COLUMN status_proto BYTEA;
