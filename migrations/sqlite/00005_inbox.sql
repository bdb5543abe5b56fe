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
ALTER TABLE instances ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;

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
       CASE WHEN instr(j.value, '@') > 0 THEN substr(j.value, 1, instr(j.value, '@') - 1) ELSE j.value END,
       CASE WHEN instr(j.value, '@') > 0 THEN substr(j.value, instr(j.value, '@') + 1) ELSE t.department END,
       '', t.status IN ('open', 'claimed')
FROM tasks t, json_each(CASE WHEN json_valid(t.candidates) THEN CASE WHEN json_type(t.candidates) = 'array' THEN t.candidates END END) j
WHERE j.type = 'text' AND j.value <> '';

INSERT INTO task_offers (task_id, role, department, username, open)
SELECT DISTINCT t.id, '', '', j.value, t.status IN ('open', 'claimed')
FROM tasks t, json_each(CASE WHEN json_valid(t.candidate_users) THEN CASE WHEN json_type(t.candidate_users) = 'array' THEN t.candidate_users END END) j
WHERE j.type = 'text' AND j.value <> '';

-- +goose Down
DROP INDEX tasks_department;
DROP INDEX tasks_assignee;
DROP TABLE task_offers;
ALTER TABLE tasks DROP COLUMN seq;
ALTER TABLE instances DROP COLUMN seq;
