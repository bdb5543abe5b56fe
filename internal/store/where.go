package store

import "strings"

// where builds a WHERE clause from optional conditions, with ? placeholders
// (rebound per dialect by Store.q). Column names are constants of this
// package, never user text.
type where struct {
	conds []string
	args  []any
	none  bool // an empty IN list: the query can match nothing
}

// eq adds "col = v" when v is not empty.
func (w *where) eq(col, v string) {
	if v != "" {
		w.conds = append(w.conds, col+" = ?")
		w.args = append(w.args, v)
	}
}

// raw adds a fixed condition.
func (w *where) raw(cond string) { w.conds = append(w.conds, cond) }

// in adds "col IN (…)" unless vals is nil (no restriction); an empty,
// non-nil list matches nothing.
func (w *where) in(col string, vals []string) {
	if vals == nil {
		return
	}
	if len(vals) == 0 {
		w.none = true
		return
	}
	w.conds = append(w.conds, col+" IN (?"+strings.Repeat(", ?", len(vals)-1)+")")
	for _, v := range vals {
		w.args = append(w.args, v)
	}
}

// sql is the clause, with its leading " WHERE", or "".
func (w *where) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}
