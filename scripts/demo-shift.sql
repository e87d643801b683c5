-- demo-shift.sql: THE DEMO'S TIMES ARE SHIFTED HERE. Run by scripts/demo.sh, once, on
-- the demo database right after it played a referral program through the simulator:
--
--   TZ=Asia/Tokyo sqlite3 -bail -cmd '.timeout 10000' -cmd '.parameter set @start_ms MS' \
--       -cmd '.parameter set @max_days 42' var/shokai.db <scripts/demo-shift.sql
--
-- Why: a program played in a minute puts every event on today, and the console's trend
-- and this-month-against-last-month figures would have no shape. So each referrer's
-- whole chain is moved back by one random number of whole days:
--   - a chain is a referrer's code, every event on it (clicks, claims, rejections,
--     holds), their referrals and every move and reward of those, operators' notes;
--     an event with no referrer (a code nobody was given) is its sender's own chain;
--   - chains are spread evenly over the last @max_days days, but none starts before
--     @start_ms (the campaign's first day; 0 when unknown);
--   - a chain with a referral waiting for review (held, suspicious) goes back 0 or 1 day,
--     so the campaign's review deadline (3 days) has not passed and the daemon's review
--     tick does not decide it at once;
--   - the people: a user's follow times go back by the most any of their chains went
--     back (so they followed before all of it), a user in no chain by the most of all;
--     a customer's rep assignment goes with the referral that gave it, else with them;
--   - the coupons were imported before the first reward was issued: by the most of all.
-- One uniform shift per chain keeps every chain's order (issued < clicked < claimed <
-- moves < rewards); the checks at the end refuse the whole transaction otherwise.
-- The inbox, outbox, profiles, console accounts and audit log are not touched: they
-- show when the demo was really played.
--
-- One short transaction (BEGIN IMMEDIATE), so it may run while shokaid runs: shokaid
-- keeps no referral times in memory; it reads them from here.

BEGIN IMMEDIATE;

CREATE TEMP TABLE ev_chain AS
  SELECT e.id, e.at AS orig_at, coalesce(e.referrer_id, r.referrer_id, e.referee_id) AS chain
  FROM referral_events e LEFT JOIN referrals r ON r.id = e.referral_id;

CREATE TEMP TABLE chains AS
  SELECT chain, min(orig_at) AS first_at,
    EXISTS (SELECT 1 FROM referrals r WHERE r.referrer_id = ev_chain.chain
            AND r.state IN ('held', 'suspicious')) AS review,
    0 AS days
  FROM ev_chain GROUP BY chain;

-- m: how many days back a chain may go (the last @max_days, not before the campaign).
CREATE TEMP TABLE span AS
  SELECT max(0, min(@max_days, ((SELECT min(first_at) FROM chains) - @start_ms) / 86400000))
    AS m;

-- Spread evenly: the chains in a random order, each in its own slice of 0..m days.
CREATE TEMP TABLE ranked AS
  SELECT chain, row_number() OVER (ORDER BY random()) - 1 AS rk, count(*) OVER () AS n
  FROM chains WHERE NOT review;
UPDATE chains SET days = CASE WHEN review THEN min((SELECT m FROM span), abs(random()) % 2)
  ELSE (SELECT lo + abs(random()) % (hi - lo + 1) FROM (
    SELECT rk * (m + 1) / n AS lo, max(rk * (m + 1) / n, (rk + 1) * (m + 1) / n - 1) AS hi
    FROM ranked, span WHERE ranked.chain = chains.chain)) END;

CREATE TEMP TABLE user_days AS
  SELECT u.channel, u.user_id, coalesce(
    (SELECT max(ch.days) FROM chains ch WHERE ch.chain = u.user_id OR ch.chain IN
      (SELECT c.chain FROM ev_chain c JOIN referral_events e ON e.id = c.id
       WHERE e.referee_id = u.user_id)),
    (SELECT m FROM span)) AS days
  FROM users u;

-- The referrer's chain of a referral, in days.
CREATE TEMP TABLE ref_days AS
  SELECT r.id, coalesce(ch.days, 0) AS days
  FROM referrals r LEFT JOIN chains ch ON ch.chain = r.referrer_id;

UPDATE referral_events SET at = at - 86400000 *
  (SELECT ch.days FROM ev_chain c JOIN chains ch ON ch.chain = c.chain
   WHERE c.id = referral_events.id);
UPDATE referral_codes SET issued_at = issued_at - 86400000 *
  coalesce((SELECT days FROM chains WHERE chain = referral_codes.user_id), 0);
UPDATE referrals SET
  claimed_at = claimed_at - 86400000 * (SELECT days FROM ref_days WHERE id = referrals.id),
  updated_at = updated_at - 86400000 * (SELECT days FROM ref_days WHERE id = referrals.id);
UPDATE rewards SET
  due_at = due_at - 86400000 * (SELECT days FROM ref_days WHERE id = rewards.referral_id),
  approve_after = approve_after - 86400000 *
    (SELECT days FROM ref_days WHERE id = rewards.referral_id),
  issued_at = issued_at - 86400000 * (SELECT days FROM ref_days WHERE id = rewards.referral_id);
UPDATE referral_notes SET at = at - 86400000 *
  (SELECT days FROM ref_days WHERE id = referral_notes.referral_id);
UPDATE users SET
  first_seen_at = first_seen_at - 86400000 * (SELECT days FROM user_days d
    WHERE d.channel = users.channel AND d.user_id = users.user_id),
  followed_at = followed_at - 86400000 * (SELECT days FROM user_days d
    WHERE d.channel = users.channel AND d.user_id = users.user_id),
  unfollowed_at = unfollowed_at - 86400000 * (SELECT days FROM user_days d
    WHERE d.channel = users.channel AND d.user_id = users.user_id);
UPDATE customers SET assigned_at = assigned_at - 86400000 * coalesce(
  CASE WHEN rep_source = 'referral' THEN (SELECT d.days FROM referrals r
    JOIN ref_days d ON d.id = r.id WHERE r.channel = customers.channel
    AND r.referee_id = customers.user_id) END,
  (SELECT days FROM user_days d WHERE d.channel = customers.channel
   AND d.user_id = customers.user_id), 0);
UPDATE coupons SET imported_at = imported_at - 86400000 * (SELECT m FROM span);

-- Every check must count 0: the ones that do not are printed, then the guard's CHECK
-- fails, sqlite3 -bail stops before COMMIT and nothing above is kept.
CREATE TEMP TABLE must_be_zero (what TEXT, n INTEGER);
INSERT INTO must_be_zero SELECT 'an event in the future', count(*) FROM referral_events
  WHERE at > unixepoch('now') * 1000;
INSERT INTO must_be_zero SELECT 'an event before the campaign', count(*)
  FROM referral_events WHERE at < @start_ms;
INSERT INTO must_be_zero SELECT 'a chain out of order', count(*)
  FROM ev_chain a JOIN ev_chain b ON a.chain = b.chain AND a.orig_at < b.orig_at
  JOIN referral_events ea ON ea.id = a.id JOIN referral_events eb ON eb.id = b.id
  WHERE ea.at > eb.at;
INSERT INTO must_be_zero SELECT 'an event on a code before its issue', count(*)
  FROM referral_events e JOIN referral_codes k ON k.code = e.code WHERE e.at < k.issued_at;
INSERT INTO must_be_zero SELECT 'a claim before its code', count(*)
  FROM referrals r JOIN referral_codes k ON k.code = r.code WHERE r.claimed_at < k.issued_at;
INSERT INTO must_be_zero SELECT 'a move or reward before its claim', count(*)
  FROM referral_events e JOIN referrals r ON r.id = e.referral_id WHERE e.at < r.claimed_at;
INSERT INTO must_be_zero SELECT 'a reward before its claim', count(*)
  FROM rewards w JOIN referrals r ON r.id = w.referral_id
  WHERE w.due_at < r.claimed_at OR w.issued_at < w.due_at;
INSERT INTO must_be_zero SELECT 'someone acting before they followed', count(*)
  FROM referral_events e JOIN users u ON u.channel = e.channel
  AND u.user_id IN (e.referee_id, e.referrer_id) WHERE e.at < u.first_seen_at;
INSERT INTO must_be_zero SELECT 'a coupon given before its import', count(*)
  FROM coupons c JOIN rewards w ON w.id = c.reward_id WHERE w.issued_at < c.imported_at;
INSERT INTO must_be_zero SELECT 'a held claim past its review deadline', count(*)
  FROM referrals WHERE state = 'held' AND claimed_at < unixepoch('now') * 1000 - 2 * 86400000;

SELECT 'demo-shift.sql: refused, ' || what || ': ' || n FROM must_be_zero WHERE n != 0;
CREATE TEMP TABLE guard (failed INTEGER CHECK (failed = 0));
INSERT INTO guard SELECT count(*) FROM must_be_zero WHERE n != 0;

-- The mark that the demo is complete (scripts/demo.sh tells a run stopped midway by its
-- absence); shokaid reads only its own keys of meta.
INSERT INTO meta(key, value) VALUES ('demo_times_shifted', unixepoch('now') * 1000);
-- Clicks were counted per day as they were written (click_counts, store_clicks.c):
-- those days are gone now. Without the counts' mark the dashboard counts clicks from
-- the events themselves, and the next click written counts them all afresh.
DELETE FROM click_counts;
DELETE FROM meta WHERE key IN ('click_counts_upto', 'click_counts_tz');

COMMIT;
