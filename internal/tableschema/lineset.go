package tableschema

// lineSet remembers 64-bit hashes with the line where each was first seen.
// It is an open-addressing table keyed by the (already random) hash itself:
// one probe, usually one cache miss, where a map lookup plus insert costs two.
//
// It is split into 256 parts by the top byte of the hash, each growing on its
// own: a part is small, so growing it stays in cache and never needs the old
// and the new copy of the whole table at once (the peak memory of one big
// table that doubles is 1.5 times its size). A slot takes 12 bytes (hash and
// line), so 1,000,000 distinct rows take about 24 MiB at most.
type lineSet struct {
	parts [256]linePart
	n     int
}

type linePart struct {
	slots []lineSlot // len is a power of two
	n     int
}

// lineSlot is a hash (two words, 0 = empty) and a line, packed in 12 bytes.
type lineSlot [3]uint32

func (s *lineSet) len() int { return s.n }

// seen returns the first line of h, or records line and returns false.
func (s *lineSet) seen(h uint64, line int) (int32, bool) {
	if h == 0 {
		h = 1
	}
	p := &s.parts[h>>56]
	if (p.n+1)*4 >= len(p.slots)*3 {
		p.grow()
	}
	lo, hi := uint32(h), uint32(h>>32)
	mask := uint64(len(p.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		sl := &p.slots[i]
		if sl[0] == lo && sl[1] == hi {
			return int32(sl[2]), true
		}
		if sl[0]|sl[1] == 0 {
			*sl = lineSlot{lo, hi, uint32(int32(line))}
			p.n++
			s.n++
			return 0, false
		}
	}
}

func (p *linePart) grow() {
	old := p.slots
	size := 8
	if len(old) > 0 {
		size = len(old) * 2
	}
	p.slots = make([]lineSlot, size)
	mask := uint64(size - 1)
	for _, sl := range old {
		if sl[0]|sl[1] == 0 {
			continue
		}
		i := (uint64(sl[1])<<32 | uint64(sl[0])) & mask
		for p.slots[i][0]|p.slots[i][1] != 0 {
			i = (i + 1) & mask
		}
		p.slots[i] = sl
	}
}
