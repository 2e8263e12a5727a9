-- Sign-ups of runner processes (docs/runner-lifecycle.md). An access token belongs to the sign-up
-- of the exchange token it descends from: `session` is that exchange token's hash (refreshes copy
-- it). Redeeming another exchange token of the runner supersedes the earlier sign-ups: it sets
-- `superseded_at` on their exchange-token rows (and on unused exchange tokens, which it spends),
-- so that every access token of those sign-ups stops working at once.
ALTER TABLE runner_tokens ADD COLUMN session BLOB;
ALTER TABLE runner_tokens ADD COLUMN superseded_at INTEGER;
