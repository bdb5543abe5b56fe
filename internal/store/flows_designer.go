package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
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

// FlowDeployComments are the comments given when the versions of a flow
// were deployed (the "comment" of their flow.deploy audit entries), by
// version. Versions deployed without a comment are absent.
func (s *Store) FlowDeployComments(ctx context.Context, key string) (map[int]string, error) {
	var rows []struct {
		ObjectID string `db:"object_id"`
		Detail   string `db:"detail"`
	}
	if err := s.rdb.SelectContext(ctx, &rows, s.q(`SELECT object_id, detail FROM audit_log
		WHERE action = 'flow.deploy' AND object_type = 'flow' AND object_id LIKE ? ORDER BY id`), key+"@%"); err != nil {
		return nil, fmt.Errorf("deploy comments of flow %q: %w", key, err)
	}
	out := map[int]string{}
	for _, r := range rows {
		k, v, ok := strings.Cut(r.ObjectID, "@")
		n, err := strconv.Atoi(v)
		if !ok || k != key || err != nil {
			continue
		}
		var d struct {
			Comment string `json:"comment"`
		}
		if json.Unmarshal([]byte(r.Detail), &d) == nil && d.Comment != "" {
			out[n] = d.Comment
		}
	}
	return out, nil
}
