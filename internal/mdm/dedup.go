// Package mdm deduplicates records and consolidates each group of duplicates
// into a golden (master) record, with the lineage of every attribute.
//
// Deduplication groups records into clusters: exact duplicates on a key (a
// primary key or chosen columns), full-row duplicates, and near-duplicates on
// normalised text (accents, case, spacing and punctuation ignored, words
// optionally sorted, then a similarity threshold). Near-duplicate search uses
// sorted-neighbourhood blocking on the normalised key: the distinct keys are
// sorted (forward, then by reversed text) and each is compared only with its
// next Window neighbours, with a banded edit distance, so the work is
// O(n log n + n × Window) whatever the data. The price: two texts that differ
// both near their start and near their end may not be compared. Texts whose
// numbers differ ("école 1" / "école 2") are never near-duplicates.
//
// Scale: a Deduper keeps, per record, a union-find slot (4 bytes) and two
// 128-bit hashes in maps, plus one normalised string per distinct match key:
// about 150–250 bytes per record, i.e. a million rows of a few columns in a
// few hundred MB and a few seconds. The records themselves are not kept;
// Consolidate needs only the members of the clusters it is given.
package mdm

import (
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"strings"
)

// Record is one input row with its origin.
type Record struct {
	// Source names the system or file the row came from (used by the
	// source_priority rule and in lineage).
	Source string
	// Line is the row's physical line in its source.
	Line int
	// Values are aligned with the header given in Options / Rules.
	Values []string
}

// Options configure deduplication. With neither Key nor Match, only
// full-row duplicates are grouped (they always are).
type Options struct {
	// Header names the columns of Record.Values.
	Header []string
	// Key lists columns whose trimmed values, all equal, make records exact
	// duplicates (a primary key, a SIRET…). Records whose key columns are all
	// empty are never grouped by key.
	Key []string
	// Match lists columns compared as normalised text for near-duplicates
	// (joined with a space). Records whose normalised text is empty are never
	// grouped by it.
	Match []string
	// TokenSort sorts the words of the normalised text before comparing.
	TokenSort bool
	// Threshold is the minimum Similarity for near-duplicates, in (0, 1];
	// default 0.9; 1 groups equal normalised texts only.
	Threshold float64
	// Window is the sorted-neighbourhood window: each distinct normalised
	// text is compared with the next Window texts in sorted order and in
	// reversed-text order; default 10.
	Window int
}

// Cluster is a group of records that designate the same entity.
type Cluster struct {
	ID int `json:"id"`
	// Members are indexes into the input, ascending.
	Members []int `json:"members"`
	// Key is the normalised match text (or the exact key) of the first member.
	Key string `json:"key"`
}

// Result is the outcome of a deduplication.
type Result struct {
	Records int `json:"records"`
	// Clusters holds every cluster, singletons included, ordered by their
	// first member.
	Clusters []Cluster `json:"clusters"`
	// Duplicates is Records − len(Clusters).
	Duplicates int `json:"duplicates"`
	// ExactDuplicates were merged by an equal key or equal normalised text;
	// NearDuplicates only by similarity.
	ExactDuplicates int `json:"exact_duplicates"`
	NearDuplicates  int `json:"near_duplicates"`
	// FullRowDuplicates counts records equal, on every trimmed column, to an
	// earlier one; they are always grouped. Blank rows are never grouped.
	FullRowDuplicates int `json:"full_row_duplicates"`
}

// Deduper accumulates records one at a time and groups them.
type Deduper struct {
	opts     Options
	keyIdx   []int
	matchIdx []int
	norm     *Normaliser
	seed1    maphash.Seed
	seed2    maphash.Seed

	parent  []int32
	keys    map[[2]uint64]int32 // exact key hash → first record
	rows    map[[2]uint64]int32 // full-row hash → first record
	texts   map[string]int32    // normalised text → text id
	textRec []int32             // text id → first record
	textStr []string            // text id → normalised text
	recText []int32             // record → text id, −1 when none
	fullDup int
}

// ErrOptions reports invalid options or rules.
var ErrOptions = errors.New("invalid options")

// NewDeduper validates opts and returns an empty Deduper.
func NewDeduper(opts Options) (*Deduper, error) {
	if opts.Threshold == 0 {
		opts.Threshold = 0.9
	}
	if opts.Threshold < 0 || opts.Threshold > 1 {
		return nil, fmt.Errorf("mdm: threshold %v not in (0, 1]: %w", opts.Threshold, ErrOptions)
	}
	if opts.Window <= 0 {
		opts.Window = 10
	}
	d := &Deduper{
		opts:  opts,
		norm:  NewNormaliser(opts.TokenSort),
		seed1: maphash.MakeSeed(),
		seed2: maphash.MakeSeed(),
		keys:  map[[2]uint64]int32{},
		rows:  map[[2]uint64]int32{},
		texts: map[string]int32{},
	}
	var err error
	if d.keyIdx, err = indexes(opts.Header, opts.Key); err != nil {
		return nil, fmt.Errorf("mdm: key: %w", err)
	}
	if d.matchIdx, err = indexes(opts.Header, opts.Match); err != nil {
		return nil, fmt.Errorf("mdm: match: %w", err)
	}
	return d, nil
}

func indexes(header, cols []string) ([]int, error) {
	out := make([]int, len(cols))
	for i, c := range cols {
		j := slices.Index(header, c)
		if j < 0 {
			return nil, fmt.Errorf("column %q not in header: %w", c, ErrOptions)
		}
		out[i] = j
	}
	return out, nil
}

// Add appends a record (its index is the number of records added before).
func (d *Deduper) Add(values []string) error {
	n := len(d.parent)
	if n >= 1<<31-1 {
		return fmt.Errorf("mdm: too many records: %w", ErrOptions)
	}
	i := int32(n)
	d.parent = append(d.parent, i)

	if !allBlank(values) {
		full := d.hash(values, nil)
		if first, ok := d.rows[full]; ok {
			d.fullDup++
			d.union(first, i) // identical rows are always the same entity
		} else {
			d.rows[full] = i
		}
	}
	if len(d.keyIdx) > 0 && !allEmpty(values, d.keyIdx) {
		h := d.hash(values, d.keyIdx)
		if first, ok := d.keys[h]; ok {
			d.union(first, i)
		} else {
			d.keys[h] = i
		}
	}
	if len(d.matchIdx) > 0 {
		text := d.matchText(values)
		if text == "" {
			d.recText = append(d.recText, -1)
			return nil
		}
		id, ok := d.texts[text]
		if ok {
			d.union(d.textRec[id], i)
		} else {
			id = int32(len(d.textStr))
			d.texts[text] = id
			d.textStr = append(d.textStr, text)
			d.textRec = append(d.textRec, i)
		}
		d.recText = append(d.recText, id)
	}
	return nil
}

func (d *Deduper) matchText(values []string) string {
	parts := make([]string, 0, len(d.matchIdx))
	for _, j := range d.matchIdx {
		if j < len(values) {
			parts = append(parts, values[j])
		}
	}
	return d.norm.Normalise(strings.Join(parts, " "))
}

func allBlank(values []string) bool {
	for _, v := range values {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}

func allEmpty(values []string, idx []int) bool {
	for _, j := range idx {
		if j < len(values) && strings.TrimSpace(values[j]) != "" {
			return false
		}
	}
	return true
}

// hash returns a 128-bit hash of the trimmed values at idx (all when nil).
func (d *Deduper) hash(values []string, idx []int) [2]uint64 {
	var h1, h2 maphash.Hash
	h1.SetSeed(d.seed1)
	h2.SetSeed(d.seed2)
	write := func(s string) {
		s = strings.TrimSpace(s)
		for _, h := range []*maphash.Hash{&h1, &h2} {
			_, _ = h.WriteString(s)
			_ = h.WriteByte(0x1f)
		}
	}
	if idx == nil {
		for _, v := range values {
			write(v)
		}
	} else {
		for _, j := range idx {
			if j < len(values) {
				write(values[j])
			} else {
				write("")
			}
		}
	}
	return [2]uint64{h1.Sum64(), h2.Sum64()}
}

func (d *Deduper) find(i int32) int32 {
	for d.parent[i] != i {
		d.parent[i] = d.parent[d.parent[i]]
		i = d.parent[i]
	}
	return i
}

// union links two records, keeping the smaller index as root so that a
// cluster's root is its first member.
func (d *Deduper) union(a, b int32) bool {
	ra, rb := d.find(a), d.find(b)
	if ra == rb {
		return false
	}
	if rb < ra {
		ra, rb = rb, ra
	}
	d.parent[rb] = ra
	return true
}

func (d *Deduper) groups() int {
	g := 0
	for i := range d.parent {
		if d.find(int32(i)) == int32(i) {
			g++
		}
	}
	return g
}

// Result runs near-duplicate matching and returns the clusters. It may be
// called once; further Adds after it are not supported.
func (d *Deduper) Result() Result {
	n := len(d.parent)
	res := Result{Records: n, FullRowDuplicates: d.fullDup}
	exactGroups := d.groups()
	res.ExactDuplicates = n - exactGroups
	if len(d.matchIdx) > 0 && d.opts.Threshold < 1 {
		d.fuzzy()
	}
	// Build clusters from roots, members ascending (one backing array).
	count := make(map[int32]int32, exactGroups)
	order := make([]int32, 0, exactGroups)
	for i := range d.parent {
		r := d.find(int32(i))
		if _, ok := count[r]; !ok {
			order = append(order, r)
		}
		count[r]++
	}
	backing := make([]int, n)
	fill := make(map[int32]int, len(order))
	off := 0
	res.Clusters = make([]Cluster, len(order))
	for ci, r := range order {
		res.Clusters[ci] = Cluster{ID: ci + 1, Members: backing[off : off+int(count[r]) : off+int(count[r])], Key: d.clusterKey(r)}
		off += int(count[r])
	}
	idx := make(map[int32]int, len(order))
	for ci, r := range order {
		idx[r] = ci
	}
	for i := range d.parent {
		r := d.find(int32(i))
		res.Clusters[idx[r]].Members[fill[r]] = i
		fill[r]++
	}
	res.Duplicates = n - len(res.Clusters)
	res.NearDuplicates = res.Duplicates - res.ExactDuplicates
	return res
}

func (d *Deduper) clusterKey(root int32) string {
	if len(d.recText) > int(root) && d.recText[root] >= 0 {
		return d.textStr[d.recText[root]]
	}
	return ""
}

// fuzzy runs sorted-neighbourhood blocking over the distinct normalised
// texts: sorted once forward and once by their reversed text (so that a typo
// near the start still leaves neighbours sharing their end), each text is
// compared with the next Window texts only, with a distance bound derived from
// the threshold. Cost: 2 × Window × distinct texts bounded comparisons.
func (d *Deduper) fuzzy() {
	n := len(d.textStr)
	if n < 2 {
		return
	}
	t := d.opts.Threshold
	w := d.opts.Window
	ids := make([]int32, n)
	for i := range ids {
		ids[i] = int32(i)
	}
	var ra, rb []rune
	pass := func() {
		for i := 0; i < n; i++ {
			a := d.textStr[ids[i]]
			for j := i + 1; j < n && j <= i+w; j++ {
				b := d.textStr[ids[j]]
				x, y := d.textRec[ids[i]], d.textRec[ids[j]]
				if d.find(x) == d.find(y) {
					continue
				}
				if !sameNumbers(a, b) {
					continue
				}
				ra, rb = appendRunes(ra[:0], a), appendRunes(rb[:0], b)
				maxLen := max(len(ra), len(rb))
				k := int((1 - t) * float64(maxLen)) // largest distance still ≥ t
				if abs(len(ra)-len(rb)) > k {
					continue
				}
				if boundedLevenshtein(ra, rb, k) <= k {
					d.union(x, y)
				}
			}
		}
	}
	slices.SortFunc(ids, func(x, y int32) int { return strings.Compare(d.textStr[x], d.textStr[y]) })
	pass()
	rev := make([]string, n)
	for i, s := range d.textStr {
		rev[i] = reverse(s)
	}
	slices.SortFunc(ids, func(x, y int32) int { return strings.Compare(rev[x], rev[y]) })
	pass()
}

// sameNumbers reports whether a and b contain the same digit sequences in the
// same order: "école 1" and "école 2", or "12 rue x" and "13 rue x", are
// different entities however close their spelling.
func sameNumbers(a, b string) bool {
	i, j := 0, 0
	for {
		for i < len(a) && (a[i] < '0' || a[i] > '9') {
			i++
		}
		for j < len(b) && (b[j] < '0' || b[j] > '9') {
			j++
		}
		if i == len(a) || j == len(b) {
			return i == len(a) && j == len(b)
		}
		si, sj := i, j
		for i < len(a) && a[i] >= '0' && a[i] <= '9' {
			i++
		}
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		if a[si:i] != b[sj:j] {
			return false
		}
	}
}

func appendRunes(dst []rune, s string) []rune {
	for _, r := range s {
		dst = append(dst, r)
	}
	return dst
}

func reverse(s string) string {
	r := []rune(s)
	slices.Reverse(r)
	return string(r)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// boundedLevenshtein returns the edit distance of a and b if it is at most k,
// else some value > k. It only fills the diagonal band of width 2k+1.
func boundedLevenshtein(a, b []rune, k int) int {
	if abs(len(a)-len(b)) > k {
		return k + 1
	}
	if k == 0 {
		if slices.Equal(a, b) {
			return 0
		}
		return 1
	}
	const inf = 1 << 30
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		if j <= k {
			prev[j] = j
		} else {
			prev[j] = inf
		}
	}
	for i := 1; i <= len(a); i++ {
		lo, hi := max(1, i-k), min(len(b), i+k)
		for j := range cur {
			cur[j] = inf
		}
		if i <= k {
			cur[0] = i
		}
		best := cur[0]
		for j := lo; j <= hi; j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			cur[j] = v
			best = min(best, v)
		}
		if best > k {
			return k + 1
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Deduplicate groups records; see Deduper.
func Deduplicate(records []Record, opts Options) (Result, error) {
	d, err := NewDeduper(opts)
	if err != nil {
		return Result{}, err
	}
	for i, r := range records {
		if err := d.Add(r.Values); err != nil {
			return Result{}, fmt.Errorf("mdm: record %d: %w", i, err)
		}
	}
	return d.Result(), nil
}
