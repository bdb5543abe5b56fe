package tableschema

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// Rows is a stream of records read from a tabular file.
type Rows interface {
	Header() []string
	// Next returns the next record and its 1-based physical line number in the file (header = 1);
	// io.EOF at the end.
	Next() (record []string, line int, err error)
}

// Errors of the CSV reader; they come wrapped in a *ParseError that carries
// the line and a French message.
var (
	ErrEmptyFile      = errors.New("empty file")
	ErrNotText        = errors.New("not a text file")
	ErrTooManyColumns = errors.New("too many columns")
	ErrRecordTooLarge = errors.New("record too large")
	ErrUnclosedQuote  = errors.New("unclosed quote")
)

// ParseError is a problem with the file itself (not with a value).
type ParseError struct {
	Line    int    // physical line where the problem starts (0 for the whole file)
	Err     error  // one of the Err* sentinels
	Message string // French, for the report
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("line %d: %v", e.Line, e.Err)
	}
	return e.Err.Error()
}

func (e *ParseError) Unwrap() error { return e.Err }

// CSVOptions tune NewCSVReader. Zero values mean "detect" or "default".
type CSVOptions struct {
	// Encoding forces the encoding: "UTF-8", "windows-1252", "ISO-8859-1", "ISO-8859-15".
	Encoding string
	// Delimiter forces the delimiter (',', ';', '\t', '|'…).
	Delimiter rune
	// MaxColumns is the maximum number of columns of a record (default 1,000).
	MaxColumns int
	// MaxRecordBytes is the maximum size of one record, i.e. a line or a
	// multi-line quoted record (default 1 MiB, at most 256 MiB).
	MaxRecordBytes int
}

const (
	defaultMaxColumns     = 1000
	defaultMaxRecordBytes = 1 << 20
	sniffBytes            = 64 << 10
	maxMaxRecordBytes     = 1 << 28 // cell offsets in a batch are int32
)

// CSVReader streams the records of a delimited text file with bounded
// memory. It implements Rows.
type CSVReader struct {
	br        *bufio.Reader
	encoding  string
	bom       bool
	delim     byte
	header    []string
	headerAt  int
	line      int // physical lines consumed
	maxCols   int
	maxBytes  int
	utf8      bool
	fallbacks int64 // cells decoded as Windows-1252 because they were not UTF-8

	recBuf  []byte
	cells   []cellSpan
	lineBuf []byte
	err     error
}

var _ Rows = (*CSVReader)(nil)

// NewCSVReader sniffs the encoding and the delimiter from the start of r,
// then reads the header. Files that are empty, binary or whose header breaks
// a limit return a *ParseError.
func NewCSVReader(r io.Reader, opts CSVOptions) (*CSVReader, error) {
	c := &CSVReader{maxCols: opts.MaxColumns, maxBytes: opts.MaxRecordBytes}
	if c.maxCols <= 0 {
		c.maxCols = defaultMaxColumns
	}
	if c.maxBytes <= 0 {
		c.maxBytes = defaultMaxRecordBytes
	}
	c.maxBytes = min(c.maxBytes, maxMaxRecordBytes)
	raw := bufio.NewReaderSize(r, sniffBytes)
	prefix, err := raw.Peek(sniffBytes)
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("read csv: %w", err)
	}
	if len(bytes.TrimSpace(prefix)) == 0 {
		return nil, &ParseError{Err: ErrEmptyFile, Message: "Le fichier est vide"}
	}
	var src io.Reader = raw
	var dec *encoding.Decoder
	switch {
	case bytes.HasPrefix(prefix, []byte("\xef\xbb\xbf")):
		c.bom = true
		_, _ = raw.Discard(3)
		prefix = prefix[3:]
		c.encoding = "UTF-8"
	case bytes.HasPrefix(prefix, []byte("\xff\xfe")), bytes.HasPrefix(prefix, []byte("\xfe\xff")):
		c.bom = true
		c.encoding = "UTF-16"
		dec = unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder()
		decoded, _, _ := transform.Bytes(unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder(), prefix[:len(prefix)&^1])
		prefix = decoded
	}
	if looksBinary(prefix) {
		return nil, &ParseError{Err: ErrNotText, Message: "Le fichier n'est pas un fichier texte (contenu binaire détecté) : un fichier CSV est attendu"}
	}
	if opts.Encoding != "" {
		name, e, err := lookupEncoding(opts.Encoding)
		if err != nil {
			return nil, err
		}
		c.encoding = name
		dec = nil
		if e != nil {
			dec = e.NewDecoder()
		}
	} else if c.encoding == "" {
		if validUTF8Prefix(prefix) {
			c.encoding = "UTF-8"
		} else {
			c.encoding = "windows-1252"
			dec = charmap.Windows1252.NewDecoder()
		}
	}
	c.utf8 = c.encoding == "UTF-8"
	if dec != nil {
		src = transform.NewReader(src, dec)
		if c.encoding == "windows-1252" || c.encoding == "ISO-8859-1" || c.encoding == "ISO-8859-15" {
			prefix, _, _ = transform.Bytes(dec, prefix)
		}
	}
	// Old Mac exports end lines with CR alone.
	if bytes.IndexByte(prefix, '\n') < 0 && bytes.IndexByte(prefix, '\r') >= 0 {
		src = transform.NewReader(src, crToLF{})
		prefix = bytes.ReplaceAll(prefix, []byte("\r"), []byte("\n"))
	}
	if src == io.Reader(raw) {
		c.br = raw
	} else {
		c.br = bufio.NewReaderSize(src, sniffBytes)
	}
	if opts.Delimiter != 0 {
		if opts.Delimiter >= utf8.RuneSelf || opts.Delimiter == '"' || opts.Delimiter == '\n' || opts.Delimiter == '\r' {
			return nil, fmt.Errorf("csv delimiter %q not supported", opts.Delimiter)
		}
		c.delim = byte(opts.Delimiter)
	} else {
		c.delim = sniffDelimiter(prefix)
	}
	hdr, line, err := c.readRecord()
	if err == io.EOF {
		return nil, &ParseError{Err: ErrEmptyFile, Message: "Le fichier est vide"}
	}
	if err != nil {
		return nil, err
	}
	c.header, c.headerAt = hdr, line
	return c, nil
}

func lookupEncoding(name string) (string, encoding.Encoding, error) {
	switch strings.ToLower(strings.ReplaceAll(name, "_", "-")) {
	case "utf-8", "utf8":
		return "UTF-8", nil, nil
	case "windows-1252", "cp1252":
		return "windows-1252", charmap.Windows1252, nil
	case "iso-8859-1", "latin1", "latin-1", "iso8859-1":
		return "ISO-8859-1", charmap.ISO8859_1, nil
	case "iso-8859-15", "latin9", "latin-9", "iso8859-15":
		return "ISO-8859-15", charmap.ISO8859_15, nil
	}
	return "", nil, fmt.Errorf("csv encoding %q not supported (want UTF-8, windows-1252, ISO-8859-1 or ISO-8859-15)", name)
}

// looksBinary reports NUL bytes or a high share of control characters.
func looksBinary(p []byte) bool {
	if bytes.IndexByte(p, 0) >= 0 {
		return true
	}
	ctrl := 0
	for _, b := range p {
		if b < 0x20 && b != '\n' && b != '\r' && b != '\t' && b != '\f' {
			ctrl++
		}
	}
	return ctrl > len(p)/20+1
}

// validUTF8Prefix is utf8.Valid tolerating a rune cut at the end of the prefix.
func validUTF8Prefix(p []byte) bool {
	for cut := 0; cut < 4 && cut <= len(p); cut++ {
		if utf8.Valid(p[:len(p)-cut]) {
			if cut == 0 {
				return true
			}
			r, _ := utf8.DecodeLastRune(p[:len(p)-cut+1])
			return r == utf8.RuneError // a partial rune at the very end
		}
	}
	return false
}

// sniffDelimiter picks, among , ; tab |, the delimiter whose count outside
// quotes is the same on the most records of the prefix (and non-zero on the
// header); ',' when none appears.
func sniffDelimiter(prefix []byte) byte {
	cands := []byte{',', ';', '\t', '|'}
	const maxLines = 50
	counts := make([][]int, len(cands))
	cur := make([]int, len(cands))
	inQuote, pending, lines := false, false, 0
	for i := 0; i < len(prefix) && lines < maxLines; i++ {
		b := prefix[i]
		switch {
		case b == '"':
			inQuote = !inQuote
			pending = true
		case b == '\n' && !inQuote:
			for k := range cands {
				counts[k] = append(counts[k], cur[k])
				cur[k] = 0
			}
			lines++
			pending = false
		case b == '\r' && !inQuote:
		case !inQuote:
			pending = true
			for k, c := range cands {
				if b == c {
					cur[k]++
				}
			}
		}
	}
	// A last record without newline counts when it is the whole prefix or the file end.
	if pending && (lines == 0 || len(prefix) < sniffBytes && lines < maxLines) {
		for k := range cands {
			counts[k] = append(counts[k], cur[k])
		}
	}
	best, bestScore, bestHeader := byte(','), -1, 0
	for k, c := range cands {
		cs := counts[k]
		if len(cs) == 0 || cs[0] == 0 {
			continue
		}
		score := 0
		for _, n := range cs {
			if n == cs[0] {
				score++
			}
		}
		if score > bestScore || score == bestScore && cs[0] > bestHeader {
			best, bestScore, bestHeader = c, score, cs[0]
		}
	}
	return best
}

// Header implements Rows.
func (c *CSVReader) Header() []string { return c.header }

// Encoding is the detected (or forced) encoding: "UTF-8", "windows-1252"…
func (c *CSVReader) Encoding() string { return c.encoding }

// BOM reports whether the file starts with a byte order mark.
func (c *CSVReader) BOM() bool { return c.bom }

// Delimiter is the detected (or forced) delimiter.
func (c *CSVReader) Delimiter() rune { return rune(c.delim) }

// Fallbacks is the number of cells that were not valid UTF-8 in a UTF-8 file
// and were decoded as Windows-1252.
func (c *CSVReader) Fallbacks() int64 { return c.fallbacks }

// Next implements Rows.
func (c *CSVReader) Next() ([]string, int, error) {
	if c.err != nil {
		return nil, 0, c.err
	}
	rec, line, err := c.readRecord()
	if err != nil {
		c.err = err
	}
	return rec, line, err
}

// readLine returns the next physical line, without its terminator, bounded by
// the record limit.
func (c *CSVReader) readLine(budget int) ([]byte, bool, error) {
	line, err := c.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		c.lineBuf = append(c.lineBuf[:0], line...)
		for err == bufio.ErrBufferFull {
			if len(c.lineBuf) > budget {
				return nil, false, ErrRecordTooLarge
			}
			line, err = c.br.ReadSlice('\n')
			c.lineBuf = append(c.lineBuf, line...)
		}
		line = c.lineBuf
	}
	if len(line) > budget+2 {
		return nil, false, ErrRecordTooLarge
	}
	if err != nil && err != io.EOF {
		return nil, false, fmt.Errorf("read csv: %w", err)
	}
	if len(line) == 0 && err == io.EOF {
		return nil, false, io.EOF
	}
	c.line++
	hadNL := false
	if n := len(line); n > 0 && line[n-1] == '\n' {
		line = line[:n-1]
		hadNL = true
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
	}
	return line, hadNL, nil
}

func (c *CSVReader) tooLarge(start int) error {
	return &ParseError{Line: start, Err: ErrRecordTooLarge, Message: fmt.Sprintf(
		"L'enregistrement commençant à la ligne %d dépasse la taille maximale de %d octets (guillemet non fermé ?)", start, c.maxBytes)}
}

// cellSpan is where one cell lies in a record arena: a[start:end], followed
// by a 0 byte (NUL bytes are refused in records, so the separator is unambiguous).
type cellSpan struct{ start, end int32 }

// readRecord parses the next record into the reader's own buffers and
// returns it as strings (one allocation for the text, one for the slice).
func (c *CSVReader) readRecord() ([]string, int, error) {
	var line int
	var err error
	c.recBuf, c.cells, line, err = c.appendRecord(c.recBuf[:0], c.cells[:0])
	if err != nil {
		return nil, line, err
	}
	s := string(c.recBuf)
	rec := make([]string, len(c.cells))
	for i, sp := range c.cells {
		rec[i] = s[sp.start:sp.end]
	}
	return rec, line, nil
}

// appendRecord parses the next record (Python csv semantics: a quote opens a
// quoted field only at its start; "" is a quote; text after a closing quote is
// kept), appending each cell to a followed by a 0 byte, and its span to cells.
// Blank lines are skipped. Cells that are not valid UTF-8 in a UTF-8 file are
// decoded as Windows-1252. On error, a and cells are returned unchanged
// (truncated to their length on entry).
func (c *CSVReader) appendRecord(a []byte, cells []cellSpan) ([]byte, []cellSpan, int, error) {
	var line []byte
	var err error
	base, c0 := len(a), len(cells)
	for {
		line, _, err = c.readLine(c.maxBytes)
		if err == ErrRecordTooLarge {
			return a, cells, c.line + 1, c.tooLarge(c.line + 1)
		}
		if err != nil {
			return a, cells, 0, err
		}
		if len(line) > 0 {
			break
		}
	}
	start := c.line
	fail := func(err error) ([]byte, []cellSpan, int, error) { return a[:base], cells[:c0], start, err }
	if bytes.IndexByte(line, 0) >= 0 {
		return fail(&ParseError{Line: start, Err: ErrNotText, Message: fmt.Sprintf("La ligne %d contient un octet nul : le fichier n'est pas un fichier texte", start)})
	}
	d := c.delim
	pos := 0
	// size is the number of cell bytes so far (separators excluded).
	size := func() int { return len(a) - base - (len(cells) - c0) }
	endCell := func(from int) {
		cells = append(cells, cellSpan{int32(from), int32(len(a))})
		a = append(a, 0)
	}
	tooManyColumns := func() ([]byte, []cellSpan, int, error) {
		return fail(&ParseError{Line: start, Err: ErrTooManyColumns, Message: fmt.Sprintf(
			"La ligne %d compte plus de %d colonnes, le maximum accepté", start, c.maxCols)})
	}
	if len(line) <= c.maxBytes && bytes.IndexByte(line, '"') < 0 {
		// The common case, a line without quotes that cannot break the size
		// limit: copy it whole, then turn its delimiters into separators,
		// eight bytes at a time.
		from := len(a)
		a = append(a, line...)
		a = append(a, 0)
		seg := a[from : len(a)-1]
		cell := 0
		bcast := uint64(d) * 0x0101010101010101
		i := 0
		for ; i+8 <= len(seg); i += 8 {
			x := binary.LittleEndian.Uint64(seg[i:]) ^ bcast
			// 0x80 in each byte of x that is zero (i.e. a delimiter), exactly.
			y := ^((x&0x7F7F7F7F7F7F7F7F + 0x7F7F7F7F7F7F7F7F) | x | 0x7F7F7F7F7F7F7F7F)
			for y != 0 {
				k := i + bits.TrailingZeros64(y)>>3
				seg[k] = 0
				cells = append(cells, cellSpan{int32(from + cell), int32(from + k)})
				if len(cells)-c0 >= c.maxCols {
					return tooManyColumns()
				}
				cell = k + 1
				y &= y - 1
			}
		}
		for ; i < len(seg); i++ {
			if seg[i] == d {
				seg[i] = 0
				cells = append(cells, cellSpan{int32(from + cell), int32(from + i)})
				if len(cells)-c0 >= c.maxCols {
					return tooManyColumns()
				}
				cell = i + 1
			}
		}
		cells = append(cells, cellSpan{int32(from + cell), int32(from + len(seg))})
		if c.utf8 && !validUTF8(a[base:]) {
			a = c.decodeFallbacks(a, base, cells[c0:])
		}
		return a, cells, start, nil
	}
	for {
		if len(cells)-c0 >= c.maxCols {
			return tooManyColumns()
		}
		from := len(a)
		if pos < len(line) && line[pos] == '"' {
			// Quoted field, possibly over several lines.
			pos++
			for {
				i := bytes.IndexByte(line[pos:], '"')
				if i < 0 {
					a = append(a, line[pos:]...)
					if size() > c.maxBytes {
						return fail(c.tooLarge(start))
					}
					next, _, err := c.readLine(c.maxBytes - size())
					if err == io.EOF {
						return fail(&ParseError{Line: start, Err: ErrUnclosedQuote, Message: fmt.Sprintf(
							"Guillemet non fermé : le champ n°%d commencé à la ligne %d se poursuit jusqu'à la fin du fichier", len(cells)-c0+1, start)})
					}
					if err == ErrRecordTooLarge {
						return fail(c.tooLarge(start))
					}
					if err != nil {
						return fail(err)
					}
					a = append(a, '\n')
					line, pos = next, 0
					continue
				}
				a = append(a, line[pos:pos+i]...)
				pos += i + 1
				if pos < len(line) && line[pos] == '"' {
					a = append(a, '"')
					pos++
					continue
				}
				break
			}
			// Text after the closing quote belongs to the field.
			j := bytes.IndexByte(line[pos:], d)
			if j < 0 {
				a = append(a, line[pos:]...)
				endCell(from)
				break
			}
			a = append(a, line[pos:pos+j]...)
			endCell(from)
			pos += j + 1
			continue
		}
		j := bytes.IndexByte(line[pos:], d)
		if j < 0 {
			a = append(a, line[pos:]...)
			endCell(from)
			break
		}
		a = append(a, line[pos:pos+j]...)
		endCell(from)
		pos += j + 1
		if size() > c.maxBytes {
			return fail(c.tooLarge(start))
		}
	}
	if size() > c.maxBytes {
		return fail(c.tooLarge(start))
	}
	if c.utf8 && !validUTF8(a[base:]) {
		a = c.decodeFallbacks(a, base, cells[c0:])
	}
	return a, cells, start, nil
}

// decodeFallbacks rewrites the record at a[base:], whose cells are spans,
// decoding the cells that are not valid UTF-8 as Windows-1252.
func (c *CSVReader) decodeFallbacks(a []byte, base int, spans []cellSpan) []byte {
	c.lineBuf = append(c.lineBuf[:0], a[base:]...)
	old := c.lineBuf
	a = a[:base]
	for k, sp := range spans {
		cell := old[int(sp.start)-base : int(sp.end)-base]
		from := len(a)
		if utf8.Valid(cell) {
			a = append(a, cell...)
		} else {
			a = append(a, decodeFallback(string(cell))...)
			c.fallbacks++
		}
		spans[k] = cellSpan{int32(from), int32(len(a))}
		a = append(a, 0)
	}
	return a
}

// validUTF8 is utf8.Valid, faster on mostly-ASCII text with a few accents:
// it goes back to 8-byte ASCII steps after each multi-byte rune.
func validUTF8(p []byte) bool {
	for len(p) > 0 {
		for len(p) >= 8 {
			first32 := uint32(p[0]) | uint32(p[1])<<8 | uint32(p[2])<<16 | uint32(p[3])<<24
			second32 := uint32(p[4]) | uint32(p[5])<<8 | uint32(p[6])<<16 | uint32(p[7])<<24
			if (first32|second32)&0x80808080 != 0 {
				break
			}
			p = p[8:]
		}
		if len(p) == 0 {
			return true
		}
		if p[0] < utf8.RuneSelf {
			p = p[1:]
			continue
		}
		r, size := utf8.DecodeRune(p)
		if r == utf8.RuneError && size == 1 {
			return false
		}
		p = p[size:]
	}
	return true
}

// decodeFallback decodes the invalid UTF-8 bytes of s as Windows-1252.
func decodeFallback(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteRune(charmap.Windows1252.DecodeByte(s[i]))
			i++
			continue
		}
		b.WriteString(s[i : i+size])
		i += size
	}
	return b.String()
}

// crToLF turns old Mac line endings into \n.
type crToLF struct{ transform.NopResetter }

func (crToLF) Transform(dst, src []byte, atEOF bool) (int, int, error) {
	n := min(len(dst), len(src))
	for i := 0; i < n; i++ {
		if src[i] == '\r' {
			dst[i] = '\n'
		} else {
			dst[i] = src[i]
		}
	}
	if n < len(src) {
		return n, n, transform.ErrShortDst
	}
	return n, n, nil
}
