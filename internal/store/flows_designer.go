package store

import (
	"context"
	"fmt"
)

// OpenInstancesPerVersion counts the instances of a flow that have not
// ended (running or stopped on an incident), per version (the designer's
// versions list). Versions without open instances are absent.
func (s *Store) OpenInstancesPerVersion(ctx context.Context, key string) (map[int]int, error) {
	var rows []struct {
		Version int `db:"version"`
		N       int `db:"n"`
	}
	if err := s.rdb.SelectContext(ctx, &rows, s.q(`SELECT version, COUNT(*) AS n FROM instances
		WHERE flow_key = ? AND ended_at IS NULL GROUP BY version`), key); err != nil {
		return nil, fmt.Errorf("open instances of flow %q: %w", key, err)
	}
	out := make(map[int]int, len(rows))
	for _, r := range rows {
		out[r.Version] = r.N
	}
	return out, nil
}
