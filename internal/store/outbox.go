package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Outbox statuses. A message moves pending → sending (an attempt claimed
// it) → committing (the end of the message is being written: from here the
// server may deliver it) → sent. A failure before the commit point makes it
// failed (claimable again); an attempt that finds it committing after a
// crash records it unconfirmed and never sends it again.
const (
	MailPending     = "pending"
	MailSending     = "sending"
	MailCommitting  = "committing"
	MailSent        = "sent"
	MailFailed      = "failed"
	MailUnconfirmed = "unconfirmed"
	MailSkipped     = "skipped"
)

// MailMessage is an e-mail in the outbox: one per notification, keyed by
// the notification's idempotency key (workflow, run, node, occurrence).
type MailMessage struct {
	ID             int64      `db:"id" json:"id"`
	Key            string     `db:"idem_key" json:"key"`
	NotificationID *int64     `db:"notification_id" json:"notification,omitempty"`
	MessageID      string     `db:"message_id" json:"messageId"`
	RecipientsRaw  string     `db:"recipients" json:"-"`
	Subject        string     `db:"subject" json:"subject"`
	Body           string     `db:"body" json:"body"`
	Status         string     `db:"status" json:"status"`
	Claim          string     `db:"claim" json:"-"`
	Attempts       int        `db:"attempts" json:"attempts"`
	LastError      string     `db:"last_error" json:"lastError,omitempty"`
	Reply          string     `db:"reply" json:"reply,omitempty"`
	CreatedAt      time.Time  `db:"created_at" json:"createdAt"`
	UpdatedAt      time.Time  `db:"updated_at" json:"updatedAt"`
	SentAt         *time.Time `db:"sent_at" json:"sentAt,omitempty"`
}

// Recipients decodes the addresses.
func (m MailMessage) Recipients() []string { return decodeStrings(m.RecipientsRaw) }

const mailColumns = `id, idem_key, notification_id, message_id, recipients, subject, body, status, claim, attempts, last_error, reply, created_at, updated_at, sent_at`

// EnqueueMail stores m unless a message with its key exists, and returns the
// stored one (the first one wins: a retried activity renders again but
// sends what was first enqueued). Status defaults to pending.
func (s *Store) EnqueueMail(ctx context.Context, m MailMessage, recipients []string) (MailMessage, error) {
	now := ts(time.Now())
	if m.Status == "" {
		m.Status = MailPending
	}
	raw, err := json.Marshal(orEmpty(recipients))
	if err != nil {
		return m, err
	}
	_, err = s.db.ExecContext(ctx, s.q(`INSERT INTO mail_outbox (idem_key, notification_id, message_id, recipients, subject, body, status, last_error, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (idem_key) DO NOTHING`),
		m.Key, m.NotificationID, m.MessageID, string(raw), m.Subject, m.Body, m.Status, m.LastError, now, now)
	if err != nil {
		return m, fmt.Errorf("enqueue mail %q: %w", m.Key, err)
	}
	return s.Mail(ctx, m.Key)
}

// Mail returns the outbox message of key, or ErrNotFound. It reads from the
// write connection: callers act on the status it shows.
func (s *Store) Mail(ctx context.Context, key string) (MailMessage, error) {
	var m MailMessage
	err := s.db.GetContext(ctx, &m, s.q(`SELECT `+mailColumns+` FROM mail_outbox WHERE idem_key = ?`), key)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return m, fmt.Errorf("mail %q: %w", key, ErrNotFound)
		}
		return m, fmt.Errorf("read mail %q: %w", key, err)
	}
	return m, nil
}

// MailsOfInstance lists the outbox messages of an instance's
// notifications, oldest first.
func (s *Store) MailsOfInstance(ctx context.Context, instanceID string) ([]MailMessage, error) {
	ms := []MailMessage{}
	err := s.rdb.SelectContext(ctx, &ms, s.q(`SELECT `+mailColumns+` FROM mail_outbox
		WHERE notification_id IN (SELECT id FROM notifications WHERE instance_id = ?) ORDER BY id`), instanceID)
	if err != nil {
		return nil, fmt.Errorf("list mails: %w", err)
	}
	return ms, nil
}

// ClaimMail lets the attempt identified by claim take the message, unless it
// is past the commit point (committing, sent, unconfirmed) or skipped. A
// claim steals a sending message from an attempt that died (or still runs:
// that one then fails to commit, see CommitMail). It returns the message as
// it stands: the caller owns it if Status is sending and Claim is its own.
func (s *Store) ClaimMail(ctx context.Context, key, claim string) (MailMessage, error) {
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE mail_outbox SET status = ?, claim = ?, attempts = attempts + 1, updated_at = ?
		WHERE idem_key = ? AND status IN (?, ?, ?)`), MailSending, claim, ts(time.Now()), key, MailPending, MailSending, MailFailed)
	if err != nil {
		return MailMessage{}, fmt.Errorf("claim mail %q: %w", key, err)
	}
	return s.Mail(ctx, key)
}

// CommitMail records that the claim's attempt is about to end the message:
// false when another attempt claimed it meanwhile (this one must abort).
func (s *Store) CommitMail(ctx context.Context, key, claim string) (bool, error) {
	return s.moveMail(ctx, key, claim, MailCommitting, "", []string{MailSending})
}

// MailDelivered records the server's acceptance reply.
func (s *Store) MailDelivered(ctx context.Context, key, claim, reply string) (bool, error) {
	now := ts(time.Now())
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE mail_outbox SET status = ?, reply = ?, last_error = '', sent_at = ?, updated_at = ?
		WHERE idem_key = ? AND claim = ? AND status IN (?, ?)`), MailSent, reply, now, now, key, claim, MailCommitting, MailUnconfirmed)
	if err != nil {
		return false, fmt.Errorf("record mail %q sent: %w", key, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// MailFailed records a failed attempt of the claim; the message may be
// claimed again.
func (s *Store) MailFailed(ctx context.Context, key, claim, msg string) (bool, error) {
	return s.moveMail(ctx, key, claim, MailFailed, msg, []string{MailSending, MailCommitting, MailUnconfirmed})
}

// MailUnconfirmed records that an attempt died in the committing step: the
// server probably has the message; it is not sent again.
func (s *Store) MailUnconfirmed(ctx context.Context, key, note string) (bool, error) {
	now := ts(time.Now())
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE mail_outbox SET status = ?, last_error = ?, sent_at = COALESCE(sent_at, ?), updated_at = ?
		WHERE idem_key = ? AND status = ?`), MailUnconfirmed, note, now, now, key, MailCommitting)
	if err != nil {
		return false, fmt.Errorf("record mail %q unconfirmed: %w", key, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

func (s *Store) moveMail(ctx context.Context, key, claim, to, msg string, from []string) (bool, error) {
	q := `UPDATE mail_outbox SET status = ?, last_error = CASE WHEN ? = '' THEN last_error ELSE ? END, updated_at = ?
		WHERE idem_key = ? AND claim = ? AND status IN (?` + strings.Repeat(", ?", len(from)-1) + `)`
	args := []any{to, msg, msg, ts(time.Now()), key, claim}
	for _, f := range from {
		args = append(args, f)
	}
	res, err := s.db.ExecContext(ctx, s.q(q), args...)
	if err != nil {
		return false, fmt.Errorf("mail %q → %s: %w", key, to, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// MarkNotificationSent sets the sent time of a notification (first one wins).
func (s *Store) MarkNotificationSent(ctx context.Context, id int64, at time.Time) error {
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE notifications SET sent_at = COALESCE(sent_at, ?) WHERE id = ?`), ts(at), id)
	if err != nil {
		return fmt.Errorf("mark notification %d sent: %w", id, err)
	}
	return nil
}

// OpenTasksOfInstance lists the open (or claimed) tasks of an instance,
// newest first: what a reminder is about.
func (s *Store) OpenTasksOfInstance(ctx context.Context, instanceID string) ([]Task, error) {
	out := []Task{}
	err := s.rdb.SelectContext(ctx, &out, s.q(`SELECT `+taskCols+` FROM tasks WHERE instance_id = ? AND status IN ('open', 'claimed')
		ORDER BY created_at DESC, id DESC`), instanceID)
	if err != nil {
		return nil, fmt.Errorf("open tasks of %s: %w", instanceID, err)
	}
	return out, nil
}

// Addressee is an enabled user with an e-mail address.
type Addressee struct {
	Username    string `db:"username"`
	DisplayName string `db:"display_name"`
	Email       string `db:"email"`
}

// MembersWithEmail returns the enabled users with an e-mail address who hold
// role in department (or in every department), by username.
func (s *Store) MembersWithEmail(ctx context.Context, role, department string) ([]Addressee, error) {
	as := []Addressee{}
	err := s.rdb.SelectContext(ctx, &as, s.q(`SELECT DISTINCT u.username, u.display_name, u.email FROM memberships m JOIN users u ON u.id = m.user_id
		WHERE m.role = ? AND (m.department = ? OR m.department = ?) AND u.disabled = ? AND u.email IS NOT NULL AND u.email <> ''
		ORDER BY u.username`), role, department, AllDepartments, false)
	if err != nil {
		return nil, fmt.Errorf("members of %s@%s: %w", role, department, err)
	}
	return as, nil
}

// UsersWithEmail returns those of the named users who are enabled and have
// an e-mail address, by username.
func (s *Store) UsersWithEmail(ctx context.Context, usernames []string) ([]Addressee, error) {
	as := []Addressee{}
	if len(usernames) == 0 {
		return as, nil
	}
	args := []any{false}
	for _, u := range usernames {
		args = append(args, u)
	}
	err := s.rdb.SelectContext(ctx, &as, s.q(`SELECT username, display_name, email FROM users
		WHERE disabled = ? AND email IS NOT NULL AND email <> '' AND username IN (?`+strings.Repeat(", ?", len(usernames)-1)+`)
		ORDER BY username`), args...)
	if err != nil {
		return nil, fmt.Errorf("users %v: %w", usernames, err)
	}
	return as, nil
}
