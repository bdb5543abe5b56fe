package service

import (
	"context"
	"strconv"

	"github.com/civicflow/civicflow/internal/tableschema"
)

// PublicAPIDataset is a dataset the public API serves, with the Table
// Schema of its exposed release (nil when it has none or it cannot be
// loaded any more: the documentation then types fields by their columns).
type PublicAPIDataset struct {
	PublicDataset
	Schema *tableschema.Schema
}

// PublicAPIDataset returns what the API documentation of a dataset needs;
// NotFound for unknown, private or unexposed datasets (PublicDataset).
func (s *Service) PublicAPIDataset(ctx context.Context, id string) (PublicAPIDataset, error) {
	pd, err := s.PublicDataset(ctx, id)
	if err != nil {
		return PublicAPIDataset{}, err
	}
	return PublicAPIDataset{PublicDataset: pd, Schema: s.releaseSchema(ctx, pd)}, nil
}

// PublicAPIDatasets lists every dataset the public API serves, with their
// schemas (PublicDatasets).
func (s *Service) PublicAPIDatasets(ctx context.Context) ([]PublicAPIDataset, error) {
	_, list, err := s.PublicDatasets(ctx, -1, 0)
	if err != nil {
		return nil, err
	}
	out := make([]PublicAPIDataset, 0, len(list))
	for _, pd := range list {
		out = append(out, PublicAPIDataset{PublicDataset: pd, Schema: s.releaseSchema(ctx, pd)})
	}
	return out, nil
}

// releaseSchema loads the schema the exposed release was validated with.
func (s *Service) releaseSchema(ctx context.Context, pd PublicDataset) *tableschema.Schema {
	name := pd.Release.SchemaName
	if name == "" {
		return nil
	}
	v, _ := strconv.Atoi(pd.Release.SchemaVersion) // shipped schemas: "1.2.3", ignored
	sch, _, err := s.store.LoadSchema(ctx, name, v)
	if err != nil {
		s.log.Warn("API documentation: the release's schema cannot be loaded; fields are typed by their columns",
			"dataset", pd.Dataset.ID, "schema", name, "version", pd.Release.SchemaVersion, "err", err)
		return nil
	}
	return sch
}
