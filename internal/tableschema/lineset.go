package tableschema

// lineSet remembers 64-bit hashes with the line where each was first seen.
// It is an open-addressing table keyed by the (already random) hash itself:
// one probe, usually one cache miss, where a map lookup plus insert costs two.
type lineSet struct {
	slots []lineSlot
	n     int
}

type lineSlot struct {
	h    uint64 // 0 = empty
	line int32
}

func (s *lineSet) len() int { return s.n }

// seen returns the first line of h, or records line and returns false.
func (s *lineSet) seen(h uint64, line int) (int32, bool) {
	if h == 0 {
		h = 1
	}
	if (s.n+1)*4 >= len(s.slots)*3 {
		s.grow()
	}
	mask := uint64(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		sl := &s.slots[i]
		if sl.h == 0 {
			sl.h, sl.line = h, int32(line)
			s.n++
			return 0, false
		}
		if sl.h == h {
			return sl.line, true
		}
	}
}

func (s *lineSet) grow() {
	old := s.slots
	size := 1024
	if len(old) > 0 {
		size = len(old) * 2
	}
	s.slots = make([]lineSlot, size)
	mask := uint64(size - 1)
	for _, sl := range old {
		if sl.h == 0 {
			continue
		}
		i := sl.h & mask
		for s.slots[i].h != 0 {
			i = (i + 1) & mask
		}
		s.slots[i] = sl
	}
}
