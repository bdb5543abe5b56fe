-- +goose Up
-- Fair inboxes and ordered read models.
--
-- task_offers says to whom each task is offered, one row per candidate group
-- (role in department; a bare role in a legacy row means the task's own
-- department) or candidate user, so that an inbox is one indexed SQL filter
-- instead of a scan of the whole organisation. "open" follows the task's
-- status (set false when the task closes), so that closed tasks never weigh
-- on inboxes.
--
-- seq is the interpreter's sequence number of the last write applied to a
-- read-model row: the engine's bookkeeping activities run concurrently and
-- may be retried, and an older write must never overwrite a newer one.
ALTER TABLE instances ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;

CREATE TABLE task_offers (
    task_id    TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    role       TEXT NOT NULL DEFAULT '',
    department TEXT NOT NULL DEFAULT '',
    username   TEXT NOT NULL DEFAULT '',
    open       BOOLEAN NOT NULL,
    PRIMARY KEY (task_id, role, department, username)
);
CREATE INDEX task_offers_group ON task_offers (open, role, department, task_id);
CREATE INDEX task_offers_user ON task_offers (open, username, task_id);
CREATE INDEX tasks_assignee ON tasks (assignee, status);
CREATE INDEX tasks_department ON tasks (department, status);

INSERT INTO task_offers (task_id, role, department, username, open)
SELECT DISTINCT t.id,
       CASE WHEN strpos(j.v, '@') > 0 THEN split_part(j.v, '@', 1) ELSE j.v END,
       CASE WHEN strpos(j.v, '@') > 0 THEN substr(j.v, strpos(j.v, '@') + 1) ELSE t.department END,
       '', t.status IN ('open', 'claimed')
FROM tasks t, jsonb_array_elements(CASE WHEN jsonb_typeof(t.candidates::jsonb) = 'array' THEN t.candidates::jsonb ELSE '[]'::jsonb END) AS e(x),
     LATERAL (SELECT e.x #>> '{}' AS v) j
WHERE jsonb_typeof(e.x) = 'string' AND j.v <> '';

INSERT INTO task_offers (task_id, role, department, username, open)
SELECT DISTINCT t.id, '', '', j.v, t.status IN ('open', 'claimed')
FROM tasks t, jsonb_array_elements(CASE WHEN jsonb_typeof(t.candidate_users::jsonb) = 'array' THEN t.candidate_users::jsonb ELSE '[]'::jsonb END) AS e(x),
     LATERAL (SELECT e.x #>> '{}' AS v) j
WHERE jsonb_typeof(e.x) = 'string' AND j.v <> '';

-- +goose Down
DROP INDEX tasks_department;
DROP INDEX tasks_assignee;
DROP TABLE task_offers;
ALTER TABLE tasks DROP COLUMN seq;
ALTER TABLE instances DROP COLUMN seq;
