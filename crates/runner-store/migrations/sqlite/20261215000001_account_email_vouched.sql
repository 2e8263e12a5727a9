-- Whether an account's email address was vouched for (issue 23): by the identity provider of the
-- SSO configuration that owns the address's domain, or by the server's administrator (`admin
-- create-user --email`). An account made through another organization's provider, by its
-- invite, carries an address nobody vouched for: a later sign-in through the domain's own
-- provider is not linked to it by email. Accounts from before are unvouched until a sign-in
-- through their domain's provider, as the account's own identity, vouches for them.
ALTER TABLE accounts ADD COLUMN email_vouched INTEGER NOT NULL DEFAULT 0;
