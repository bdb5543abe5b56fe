package tableschema

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/charmap"
)

// readAll reads every record of a CSV with its line number.
func readAll(t *testing.T, data []byte, opts CSVOptions) (*CSVReader, [][]string, []int) {
	t.Helper()
	r, err := NewCSVReader(bytes.NewReader(data), opts)
	require.NoError(t, err)
	var recs [][]string
	var lines []int
	for {
		rec, line, err := r.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		recs = append(recs, rec)
		lines = append(lines, line)
	}
	return r, recs, lines
}

func TestCSVDialects(t *testing.T) {
	tests := []struct {
		name   string
		data   string
		delim  rune
		header []string
		recs   [][]string
		lines  []int
	}{
		{"comma LF", "a,b\n1,2\n", ',', []string{"a", "b"}, [][]string{{"1", "2"}}, []int{2}},
		{"semicolon CRLF", "a;b\r\n1,5;2\r\n", ';', []string{"a", "b"}, [][]string{{"1,5", "2"}}, []int{2}},
		{"tab", "a\tb\n1\t2\n", '\t', []string{"a", "b"}, [][]string{{"1", "2"}}, []int{2}},
		{"pipe", "a|b|c\n1|2|3\n", '|', []string{"a", "b", "c"}, [][]string{{"1", "2", "3"}}, []int{2}},
		{"no final newline", "a;b\n1;2", ';', []string{"a", "b"}, [][]string{{"1", "2"}}, []int{2}},
		{"single column", "a\n1\n", ',', []string{"a"}, [][]string{{"1"}}, []int{2}},
		{"quotes with delimiters", "a;b\n\"x;y\";\"he said \"\"hi\"\"\"\n", ';', []string{"a", "b"}, [][]string{{"x;y", `he said "hi"`}}, []int{2}},
		{"semicolon despite commas in quotes", "a;b\n\"1,2,3\";x\n\"4,5\";y\n", ';', []string{"a", "b"}, [][]string{{"1,2,3", "x"}, {"4,5", "y"}}, []int{2, 3}},
		{"multi-line cell", "a,b\n\"l1\r\nl2\",x\ny,z\n", ',', []string{"a", "b"}, [][]string{{"l1\nl2", "x"}, {"y", "z"}}, []int{2, 4}},
		{"blank lines skipped", "a,b\n\n1,2\r\n\r\n3,4\n", ',', []string{"a", "b"}, [][]string{{"1", "2"}, {"3", "4"}}, []int{3, 5}},
		{"quote inside unquoted field", "a,b\nab\"c,d\n", ',', []string{"a", "b"}, [][]string{{`ab"c`, "d"}}, []int{2}},
		{"text after closing quote", "a,b\n\"ab\"c,d\n", ',', []string{"a", "b"}, [][]string{{"abc", "d"}}, []int{2}},
		{"old mac CR", "a;b\r1;2\r3;4", ';', []string{"a", "b"}, [][]string{{"1", "2"}, {"3", "4"}}, []int{2, 3}},
		{"ragged", "a,b,c\n1\n1,2,3,4\n", ',', []string{"a", "b", "c"}, [][]string{{"1"}, {"1", "2", "3", "4"}}, []int{2, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, recs, lines := readAll(t, []byte(tt.data), CSVOptions{})
			require.Equal(t, tt.delim, r.Delimiter())
			require.Equal(t, tt.header, r.Header())
			require.Equal(t, tt.recs, recs)
			require.Equal(t, tt.lines, lines)
			require.Equal(t, "UTF-8", r.Encoding())
		})
	}
}

func TestCSVEncodings(t *testing.T) {
	text := "nom;montant\nDépartement de la Nièvre;17\u00a0833\nŒuvre – « test »;1\n"
	cp1252, err := charmap.Windows1252.NewEncoder().String(text)
	require.NoError(t, err)
	latin9, err := charmap.ISO8859_15.NewEncoder().String(strings.ReplaceAll(text, "–", "-"))
	require.NoError(t, err)

	r, recs, _ := readAll(t, []byte(text), CSVOptions{})
	require.Equal(t, "UTF-8", r.Encoding())
	require.False(t, r.BOM())
	require.Equal(t, "Département de la Nièvre", recs[0][0])

	r, recs, _ = readAll(t, append([]byte("\xef\xbb\xbf"), text...), CSVOptions{})
	require.Equal(t, "UTF-8", r.Encoding())
	require.True(t, r.BOM())
	require.Equal(t, "nom", r.Header()[0]) // BOM stripped

	r, recs, _ = readAll(t, []byte(cp1252), CSVOptions{})
	require.Equal(t, "windows-1252", r.Encoding())
	require.Equal(t, ';', r.Delimiter())
	require.Equal(t, "Département de la Nièvre", recs[0][0])
	require.Equal(t, "17\u00a0833", recs[0][1])
	require.Equal(t, "Œuvre – « test »", recs[1][0])

	r, recs, _ = readAll(t, []byte(latin9), CSVOptions{Encoding: "iso-8859-15"})
	require.Equal(t, "ISO-8859-15", r.Encoding())
	require.Equal(t, "Œuvre - « test »", recs[1][0])

	r, recs, _ = readAll(t, []byte("a\nd\xe9j\xe0\n"), CSVOptions{Encoding: "latin1"})
	require.Equal(t, "ISO-8859-1", r.Encoding())
	require.Equal(t, "déjà", recs[0][0])

	// UTF-8 in the sniffed prefix, cp1252 bytes further down: cell-level fallback.
	big := "a,b\n" + strings.Repeat("ascii,ligne\n", 10000) + "caf\xe9,ok\n"
	r, recs, _ = readAll(t, []byte(big), CSVOptions{})
	require.Equal(t, "UTF-8", r.Encoding())
	require.Equal(t, "café", recs[len(recs)-1][0])
	require.EqualValues(t, 1, r.Fallbacks())

	// UTF-16 with BOM
	u16 := []byte{0xff, 0xfe}
	for _, c := range "a;b\n1;é\n" {
		u16 = append(u16, byte(c), byte(c>>8))
	}
	r, recs, _ = readAll(t, u16, CSVOptions{})
	require.Equal(t, "UTF-16", r.Encoding())
	require.Equal(t, [][]string{{"1", "é"}}, recs)

	_, err = NewCSVReader(strings.NewReader("a\n"), CSVOptions{Encoding: "klingon"})
	require.ErrorContains(t, err, "klingon")
}

func TestCSVForcedDelimiter(t *testing.T) {
	r, recs, _ := readAll(t, []byte("a,b;c\n1,2;3\n"), CSVOptions{Delimiter: ';'})
	require.Equal(t, []string{"a,b", "c"}, r.Header())
	require.Equal(t, [][]string{{"1,2", "3"}}, recs)
}

func parseErr(t *testing.T, err error) *ParseError {
	t.Helper()
	var pe *ParseError
	require.True(t, errors.As(err, &pe), "%v", err)
	require.NotEmpty(t, pe.Message)
	return pe
}

func TestCSVBadInput(t *testing.T) {
	t.Run("empty", func(t *testing.T) {
		for _, data := range []string{"", "\n\n", "   \r\n"} {
			_, err := NewCSVReader(strings.NewReader(data), CSVOptions{})
			require.ErrorIs(t, err, ErrEmptyFile)
			require.Equal(t, "Le fichier est vide", parseErr(t, err).Message)
		}
	})
	t.Run("binary", func(t *testing.T) {
		png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00")
		_, err := NewCSVReader(bytes.NewReader(png), CSVOptions{})
		require.ErrorIs(t, err, ErrNotText)
		require.Contains(t, parseErr(t, err).Message, "n'est pas un fichier texte")
		zip := append([]byte("PK\x03\x04"), bytes.Repeat([]byte{1, 2, 3, 0}, 100)...)
		_, err = NewCSVReader(bytes.NewReader(zip), CSVOptions{})
		require.ErrorIs(t, err, ErrNotText)
	})
	t.Run("NUL after the sniffed prefix", func(t *testing.T) {
		data := "a,b\n" + strings.Repeat("x,y\n", 20000) + "x\x00,y\n"
		r, err := NewCSVReader(strings.NewReader(data), CSVOptions{})
		require.NoError(t, err)
		for {
			_, _, err = r.Next()
			if err != nil {
				break
			}
		}
		require.ErrorIs(t, err, ErrNotText)
		require.Equal(t, 20002, parseErr(t, err).Line)
	})
	t.Run("too many columns", func(t *testing.T) {
		header := strings.Repeat("c,", 99999) + "c\n"
		_, err := NewCSVReader(strings.NewReader(header+"1\n"), CSVOptions{})
		require.ErrorIs(t, err, ErrTooManyColumns)
		require.Contains(t, parseErr(t, err).Message, "plus de 1000 colonnes")
		_, err = NewCSVReader(strings.NewReader("a,b,c\n"), CSVOptions{MaxColumns: 2})
		require.ErrorIs(t, err, ErrTooManyColumns)
	})
	t.Run("line too long", func(t *testing.T) {
		data := "a\n" + strings.Repeat("x", 3<<20) + "\nshort\n"
		r, err := NewCSVReader(strings.NewReader(data), CSVOptions{})
		require.NoError(t, err)
		_, _, err = r.Next()
		require.ErrorIs(t, err, ErrRecordTooLarge)
		require.Equal(t, 2, parseErr(t, err).Line)
		_, _, err2 := r.Next() // sticky
		require.Equal(t, err, err2)
	})
	t.Run("unclosed quote swallowing the file", func(t *testing.T) {
		data := "a,b\n\"oops,1\n" + strings.Repeat("x,y\n", 400000)
		r, err := NewCSVReader(strings.NewReader(data), CSVOptions{MaxRecordBytes: 64 << 10})
		require.NoError(t, err)
		_, _, err = r.Next()
		require.ErrorIs(t, err, ErrRecordTooLarge)
		pe := parseErr(t, err)
		require.Equal(t, 2, pe.Line)
		require.Contains(t, pe.Message, "guillemet non fermé")
	})
	t.Run("unclosed quote at end of file", func(t *testing.T) {
		r, err := NewCSVReader(strings.NewReader("a,b\n1,2\n\"3,4\n5,6\n"), CSVOptions{})
		require.NoError(t, err)
		_, _, err = r.Next()
		require.NoError(t, err)
		_, _, err = r.Next()
		require.ErrorIs(t, err, ErrUnclosedQuote)
		require.Equal(t, 3, parseErr(t, err).Line)
	})
	t.Run("deeply broken quoting", func(t *testing.T) {
		data := "a,b\n\"\"\"\"\"x\"\"\",\"\n\"y\"z\"\"\",\"\"\"\n" + strings.Repeat("\"", 1000) + "\n"
		r, err := NewCSVReader(strings.NewReader(data), CSVOptions{})
		require.NoError(t, err)
		for i := 0; i < 10; i++ { // never panics, always ends
			_, _, err = r.Next()
			if err != nil {
				break
			}
		}
		require.Error(t, err)
	})
}

func TestSniffDelimiter(t *testing.T) {
	tests := []struct {
		data string
		want byte
	}{
		{"a;b;c\n1,5;2;3\n4,5;6;7\n", ';'},
		{"a,b,c\n1;2,3,4\n", ','},
		{"nom\tmontant\nx\t1,5\n", '\t'},
		{"a|b\n1|2\n", '|'},
		{"a\n1\n", ','},
		{"\"a;b\",c\n\"1;2\",3\n", ','},
	}
	for _, tt := range tests {
		require.Equal(t, string(tt.want), string(sniffDelimiter([]byte(tt.data))), tt.data)
	}
}

// TestReaderFastPathSplits checks the quote-free fast path (eight bytes at a
// time) against a plain split, and its column limit.
func TestReaderFastPathSplits(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	alphabet := []string{"a", "b", ",", ",", ";", "é", " ", "-", "\x2d", "0"}
	var b strings.Builder
	var want [][]string
	b.WriteString("h1,h2\n")
	for range 2000 {
		var line strings.Builder
		n := 1 + r.IntN(40)
		for range n {
			line.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		if strings.Trim(line.String(), " ") == "" || line.String()[0] == ' ' {
			continue
		}
		b.WriteString(line.String() + "\n")
		want = append(want, strings.Split(line.String(), ","))
	}
	cr, err := NewCSVReader(strings.NewReader(b.String()), CSVOptions{Delimiter: ','})
	require.NoError(t, err)
	for i, w := range want {
		rec, _, err := cr.Next()
		require.NoError(t, err, i)
		require.Equal(t, w, rec, i)
	}
	_, _, err = cr.Next()
	require.ErrorIs(t, err, io.EOF)

	for _, tt := range []struct {
		line string
		ok   bool
	}{{"a,b,c", true}, {"a,b,c,d", false}, {"aaaaaaaaaaaa,bbbbbbbbbbbbbbb,cccccccccc", true},
		{"aaaaaaaaaaaa,bbbbbbbbbbbbbbb,cccccccccc,", false}, {",,", true}, {",,,", false}} {
		cr, err := NewCSVReader(strings.NewReader("x,y,z\n"+tt.line+"\n"), CSVOptions{Delimiter: ',', MaxColumns: 3})
		require.NoError(t, err)
		_, _, err = cr.Next()
		if tt.ok {
			require.NoError(t, err, tt.line)
		} else {
			require.ErrorIs(t, err, ErrTooManyColumns, tt.line)
		}
	}
}
