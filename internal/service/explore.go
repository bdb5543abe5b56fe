package service

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/civicflow/civicflow/internal/odsql"
	"github.com/civicflow/civicflow/internal/store"
)

// Limits of the public records API, those of Opendatasoft Explore v2.1.
const (
	ExploreDefaultLimit = 10
	ExploreMaxLimit     = 100
	ExploreMaxWindow    = 10000 // offset + limit
	// With group_by, Opendatasoft allows up to 20,000 groups per page and
	// offset + limit up to 20,000.
	ExploreMaxGroupLimit = 20000
)

// PublicDataset is a dataset the public API serves: public, with an
// exposed release.
type PublicDataset struct {
	Dataset store.Dataset
	Release store.Release
}

// ExploreParams are the query parameters of a records request, as sent.
type ExploreParams struct {
	Select, Where, GroupBy, OrderBy string
	Refine, Exclude                 []string // field:value
	Limit, Offset                   string
	// Lang and Timezone are Opendatasoft's lang (fr, en…; labels and
	// messages, validated) and timezone (IANA name; timestamps in answers
	// are rendered in it, default UTC).
	Lang, Timezone string
}

// ExploreLangs are the values of lang Opendatasoft accepts.
var ExploreLangs = []string{"fr", "en", "nl", "pt", "it", "ar", "de", "es", "ca", "eu", "sv"}

// ParamError is a bad parameter of the public API (not an ODSQL mistake):
// a limit out of bounds, a malformed refine.
type ParamError struct{ Msg string }

func (e *ParamError) Error() string { return e.Msg }

// PublicDatasets lists the datasets the public API serves, by id, with the
// total count: public datasets whose exposed release exists. Private
// datasets are never listed.
func (s *Service) PublicDatasets(ctx context.Context, limit, offset int) (int, []PublicDataset, error) {
	total, list, err := s.store.PublicReleases(ctx, limit, offset)
	if err != nil {
		return 0, nil, err
	}
	out := make([]PublicDataset, len(list))
	for i, p := range list {
		out[i] = PublicDataset{Dataset: p.Dataset, Release: p.Release}
	}
	return total, out, nil
}

// PublicDataset returns a dataset the public API serves and its exposed
// release; NotFound for unknown, private or unexposed datasets alike (the
// public does not learn that a private dataset exists).
func (s *Service) PublicDataset(ctx context.Context, id string) (PublicDataset, error) {
	if !store.ValidDatasetID(id) {
		return PublicDataset{}, Errorf(NotFound, "Unknown dataset: %s", id)
	}
	gen := s.store.MetaGeneration()
	if pd, ok := s.public.get(id, gen); ok {
		return pd, nil
	}
	pd, err := s.publicDataset(ctx, id)
	if err == nil {
		s.public.put(id, gen, pd)
	}
	return pd, err
}

func (s *Service) publicDataset(ctx context.Context, id string) (PublicDataset, error) {
	notFound := Errorf(NotFound, "Unknown dataset: %s", id)
	d, err := s.store.Dataset(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return PublicDataset{}, notFound
	}
	if err != nil {
		return PublicDataset{}, err
	}
	if d.Visibility != store.VisibilityPublic || d.ExposedRelease == nil {
		return PublicDataset{}, notFound
	}
	rel, err := s.store.Release(ctx, d.ID, *d.ExposedRelease)
	if errors.Is(err, store.ErrNotFound) {
		return PublicDataset{}, notFound
	}
	if err != nil {
		return PublicDataset{}, err
	}
	return PublicDataset{Dataset: d, Release: rel}, nil
}

// ParseExplore turns request parameters into a query: *odsql.Error for
// ODSQL mistakes, *ParamError for bad paging or facets. export lifts the
// limit (exports are unlimited unless limit is given, -1 meaning all).
func ParseExplore(p ExploreParams, export bool) (store.ExploreQuery, error) {
	var q store.ExploreQuery
	var err error
	if q.Select, err = odsql.ParseSelect(p.Select); err != nil {
		return q, err
	}
	if q.Where, err = odsql.ParseWhere(p.Where); err != nil {
		return q, err
	}
	if q.GroupBy, err = odsql.ParseGroupBy(p.GroupBy); err != nil {
		return q, err
	}
	if q.OrderBy, err = odsql.ParseOrderBy(p.OrderBy); err != nil {
		return q, err
	}
	for _, spec := range []struct {
		name string
		in   []string
		out  *[]store.FieldValue
	}{{"refine", p.Refine, &q.Refine}, {"exclude", p.Exclude, &q.Exclude}} {
		if len(spec.in) > 100 {
			return q, &ParamError{Msg: "too many " + spec.name + " parameters (at most 100)"}
		}
		for _, r := range spec.in {
			f, v, ok := strings.Cut(r, ":")
			if !ok || f == "" {
				return q, &ParamError{Msg: spec.name + " expects field:value, got " + strconv.Quote(r)}
			}
			if !utf8.ValidString(r) || strings.IndexByte(r, 0) >= 0 || len(r) > odsql.MaxLength {
				return q, &ParamError{Msg: spec.name + ": invalid value"}
			}
			*spec.out = append(*spec.out, store.FieldValue{Field: f, Value: v})
		}
	}
	if p.Lang != "" && !slices.Contains(ExploreLangs, strings.ToLower(p.Lang)) {
		return q, &ParamError{Msg: "Invalid value for lang: one of " + strings.Join(ExploreLangs, ", ") + " expected"}
	}
	if p.Timezone != "" {
		loc, err := loadZone(p.Timezone)
		if err != nil {
			return q, &ParamError{Msg: "Invalid value for timezone: " + strconv.Quote(p.Timezone) + " is not an IANA time zone (e.g. Europe/Paris, UTC)"}
		}
		q.Location = loc
	}
	maxLimit, window := ExploreMaxLimit, ExploreMaxWindow
	if len(q.GroupBy) > 0 {
		maxLimit, window = ExploreMaxGroupLimit, ExploreMaxGroupLimit
	}
	q.Limit = ExploreDefaultLimit
	if export {
		q.Limit = -1
	}
	if p.Limit != "" {
		n, err := strconv.Atoi(p.Limit)
		switch {
		case err != nil || n < -1:
			return q, &ParamError{Msg: "Invalid value for limit: " + strconv.Quote(p.Limit)}
		case !export && (n == -1 || n > maxLimit):
			return q, &ParamError{Msg: "Invalid value for limit: it must be between 0 and " + strconv.Itoa(maxLimit)}
		}
		q.Limit = n
	}
	if p.Offset != "" {
		n, err := strconv.Atoi(p.Offset)
		if err != nil || n < 0 {
			return q, &ParamError{Msg: "Invalid value for offset: " + strconv.Quote(p.Offset)}
		}
		q.Offset = n
	}
	if !export && q.Offset+q.Limit > window {
		return q, &ParamError{Msg: "Invalid value for offset + limit: it must be at most " + strconv.Itoa(window) + " (use the exports to get every record)"}
	}
	return q, nil
}

// loadZone loads an IANA zone, refusing what is not a zone name (paths,
// "Local", overlong input).
func loadZone(name string) (*time.Location, error) {
	if len(name) > 64 || name == "Local" || strings.Contains(name, "..") || strings.HasPrefix(name, "/") ||
		strings.ContainsFunc(name, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/_+-", r))
		}) {
		return nil, errors.New("not a zone name")
	}
	return time.LoadLocation(name)
}

// ExploreRecords answers a records request on a public dataset (from
// PublicDataset).
func (s *Service) ExploreRecords(ctx context.Context, pd PublicDataset, p ExploreParams) (store.ExploreResult, error) {
	q, err := ParseExplore(p, false)
	if err != nil {
		return store.ExploreResult{}, err
	}
	return s.store.ExploreRecords(ctx, pd.Release, q)
}

// ExploreRecord returns one record of a public dataset by its id (see
// store.RecordIDField): the names and values, _id first; NotFound with
// RecordNotFound when the release has no such record.
// Of p, only lang and timezone apply.
func (s *Service) ExploreRecord(ctx context.Context, pd PublicDataset, id string, p ExploreParams) ([]string, []any, error) {
	q, err := ParseExplore(ExploreParams{Lang: p.Lang, Timezone: p.Timezone}, false)
	if err != nil {
		return nil, nil, err
	}
	names, row, err := s.store.ExploreRecord(ctx, pd.Release, id, q.Location)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, &Error{Kind: NotFound, Msg: "Unknown record: " + id, Err: ErrRecordNotFound}
	}
	return names, row, err
}

// ErrRecordNotFound marks the NotFound of an unknown record (the dataset
// exists), which Opendatasoft answers with its own error code.
var ErrRecordNotFound = errors.New("no such record")

// ExploreExport streams the results of a query on a public dataset: names
// once, then each row.
func (s *Service) ExploreExport(ctx context.Context, pd PublicDataset, p ExploreParams, cols func([]store.ReleaseColumn) error, row func([]any) error) error {
	q, err := ParseExplore(p, true)
	if err != nil {
		return err
	}
	return s.store.ExploreStreamColumns(ctx, pd.Release, q, cols, row)
}

// ExploreFacet is the values of one field with their counts, most
// frequent first (at most ExploreFacetValues).
type ExploreFacet struct {
	Name   string
	Values []ExploreFacetValue
}

// ExploreFacetValue is one value of a facet.
type ExploreFacetValue struct {
	Value any
	Count int64
}

// ExploreFacetValues is how many values a facet lists.
const ExploreFacetValues = 100

// ExploreFacets counts the values of the fields asked (facet=…; none: the
// text and boolean fields) among the rows the query keeps (where, refine,
// exclude).
func (s *Service) ExploreFacets(ctx context.Context, pd PublicDataset, p ExploreParams, facets []string) ([]ExploreFacet, error) {
	if p.Select != "" || p.GroupBy != "" || p.OrderBy != "" {
		return nil, &ParamError{Msg: "facets take where, refine and exclude only"}
	}
	q, err := ParseExplore(p, false)
	if err != nil {
		return nil, err
	}
	if len(facets) == 0 {
		for _, c := range pd.Release.Columns {
			if c.Kind == store.KindText || c.Kind == store.KindBoolean {
				facets = append(facets, c.Field)
			}
		}
	}
	if len(facets) > 50 {
		return nil, &ParamError{Msg: "too many facets (at most 50)"}
	}
	out := []ExploreFacet{}
	for _, f := range facets {
		field := &odsql.Field{Pos: 1, Name: f}
		count := &odsql.Call{Pos: 1, Name: "count"}
		fq := q
		fq.Select = []odsql.SelectItem{{Expr: field, Name: f}, {Expr: count, Name: "\x00count"}} // a name no field has
		fq.GroupBy = []odsql.SelectItem{{Expr: field, Name: f}}
		fq.OrderBy = []odsql.OrderItem{{Expr: count, Desc: true}, {Expr: field}}
		fq.Limit, fq.Offset = ExploreFacetValues+1, 0 // +1: the null group, skipped
		res, err := s.store.ExploreRecords(ctx, pd.Release, fq)
		if err != nil {
			var qe *odsql.Error
			if errors.As(err, &qe) {
				qe.Clause, qe.Pos = "facet", 1
			}
			return nil, err
		}
		facet := ExploreFacet{Name: f, Values: []ExploreFacetValue{}}
		for _, row := range res.Rows {
			if row[0] == nil || len(facet.Values) == ExploreFacetValues {
				continue
			}
			n, _ := row[1].(int64)
			facet.Values = append(facet.Values, ExploreFacetValue{Value: row[0], Count: n})
		}
		out = append(out, facet)
	}
	return out, nil
}
