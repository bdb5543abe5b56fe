package store

import (
	"context"
	"fmt"
	"time"
)

// APIConsumer is a reuser of the public API: a person or an organisation
// holding API keys.
type APIConsumer struct {
	ID           int64     `db:"id" json:"id"`
	Name         string    `db:"name" json:"name"`
	Email        string    `db:"email" json:"email"`
	Organisation string    `db:"organisation" json:"organisation"`
	Verified     bool      `db:"verified" json:"verified"`
	CreatedAt    time.Time `db:"created_at" json:"createdAt"`
}

const apiConsumerCols = `id, name, email, organisation, verified, created_at`

// CreateAPIConsumer inserts c and sets its id; an e-mail already known
// (case-insensitively) is ErrConflict.
func (s *Store) CreateAPIConsumer(ctx context.Context, c *APIConsumer) error {
	c.CreatedAt = ts(time.Now())
	err := s.db.GetContext(ctx, &c.ID, s.q(`INSERT INTO api_consumers (name, email, organisation, verified, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id`),
		c.Name, c.Email, c.Organisation, c.Verified, c.CreatedAt)
	if IsUniqueViolation(err) {
		return fmt.Errorf("API consumer %q: %w", c.Email, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("create API consumer: %w", err)
	}
	return nil
}

// APIConsumer returns one consumer, or ErrNotFound.
func (s *Store) APIConsumer(ctx context.Context, id int64) (APIConsumer, error) {
	return getOne[APIConsumer](ctx, s, fmt.Sprintf("API consumer %d", id), `SELECT `+apiConsumerCols+` FROM api_consumers WHERE id = ?`, id)
}

// APIConsumerByEmail returns the consumer with that e-mail (any case), or ErrNotFound.
func (s *Store) APIConsumerByEmail(ctx context.Context, email string) (APIConsumer, error) {
	return getOne[APIConsumer](ctx, s, "API consumer by e-mail", `SELECT `+apiConsumerCols+` FROM api_consumers WHERE LOWER(email) = LOWER(?)`, email)
}

// APIConsumers lists the consumers, newest first.
func (s *Store) APIConsumers(ctx context.Context) ([]APIConsumer, error) {
	var cs []APIConsumer
	if err := s.rdb.SelectContext(ctx, &cs, `SELECT `+apiConsumerCols+` FROM api_consumers ORDER BY id DESC`); err != nil {
		return nil, fmt.Errorf("list API consumers: %w", err)
	}
	return cs, nil
}

// SetAPIConsumerVerified marks the consumer's e-mail as verified (or not).
func (s *Store) SetAPIConsumerVerified(ctx context.Context, id int64, verified bool) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE api_consumers SET verified = ? WHERE id = ?`), verified, id)
	if err != nil {
		return fmt.Errorf("verify API consumer %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("API consumer %d: %w", id, ErrNotFound)
	}
	return nil
}
