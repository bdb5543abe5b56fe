package service

import (
	"sync"
	"time"
)

// publicCache keeps PublicDataset's answers (the public dataset, its
// exposed release and the release's columns) so that a records request
// does not read them again: two SQL statements fewer per request.
//
// An entry is valid while the store's MetaGeneration has not moved (every
// change of a dataset row through this process — expose, withdraw,
// visibility, metadata — moves it: a new release replaces the old at once,
// a withdrawn dataset is not found at once) and for at most
// publicCacheTTL (changes made by another process sharing the database are
// seen within that delay). Releases are immutable, so nothing else can
// make an entry stale. Only found datasets are kept: there is at most one
// entry per public dataset.
type publicCache struct {
	m sync.Map // id → publicEntry
}

const publicCacheTTL = time.Second

type publicEntry struct {
	pd  PublicDataset
	gen uint64
	at  time.Time
}

func (c *publicCache) get(id string, gen uint64) (PublicDataset, bool) {
	v, ok := c.m.Load(id)
	if !ok {
		return PublicDataset{}, false
	}
	e := v.(publicEntry)
	if e.gen != gen || time.Since(e.at) >= publicCacheTTL {
		c.m.Delete(id)
		return PublicDataset{}, false
	}
	return e.pd, true
}

// put keeps pd, read when the generation was gen (read before the
// dataset: a change during the read leaves an entry already stale).
func (c *publicCache) put(id string, gen uint64, pd PublicDataset) {
	c.m.Store(id, publicEntry{pd: pd, gen: gen, at: time.Now()})
}
