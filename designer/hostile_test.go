package designer

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	return len(p), nil
}

func TestHostileXML(t *testing.T) {
	laughs := `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">` +
		`<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><definitions xmlns="` + NSBPMN + `">&lol3;</definitions>`
	xxe := `<?xml version="1.0"?><!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><definitions xmlns="` + NSBPMN + `">&xxe;</definitions>`
	undeclared := `<definitions xmlns="` + NSBPMN + `"><process id="p">&xxe;</process></definitions>`
	deep := `<definitions xmlns="` + NSBPMN + `">` + strings.Repeat("<a>", 10000) + strings.Repeat("</a>", 10000) + `</definitions>`
	big := bytes.Repeat([]byte("a"), 50<<20)
	pub := string(PublicationBPMN)
	manyTokens := `<definitions xmlns="` + NSBPMN + `">` + strings.Repeat("<a/>", 400_000) + `</definitions>`
	for _, tc := range []struct {
		name, xml, want string
	}{
		{"billion laughs", laughs, "entity declarations are not allowed"},
		{"external entity", xxe, "entity declarations are not allowed"},
		{"doctype", `<!DOCTYPE html><definitions xmlns="` + NSBPMN + `"/>`, "DOCTYPE declarations are not allowed"},
		{"undeclared entity", undeclared, "not well-formed"},
		{"10000-deep nesting", deep, "nested deeper than 200"},
		{"50 MB body", string(big), "larger than 5 MiB"},
		{"truncated", pub[:len(pub)/2], "truncated XML"},
		{"not XML", `{"flow":"publication"}`, "not BPMN XML"},
		{"binary", "\x00\x01\x02\xff", "not well-formed"},
		{"empty", "  \n", "empty file"},
		{"wrong root", `<html><body/></html>`, "expected BPMN 2.0 definitions"},
		{"too many tokens", manyTokens, "more than 300000 tokens"},
		{"unknown encoding", `<?xml version="1.0" encoding="EBCDIC"?><definitions xmlns="` + NSBPMN + `"/>`, "unsupported encoding"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			g, problems, err := Compile([]byte(tc.xml), Options{})
			t.Logf("%s: %v in %v", tc.name, err, time.Since(start))
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
			require.Nil(t, g)
			require.Nil(t, problems)
		})
	}
}

func TestReadLimited(t *testing.T) {
	_, err := ReadLimited(io.LimitReader(zeros{}, 50<<20))
	require.True(t, errors.Is(err, ErrTooLarge))
	data, err := ReadLimited(bytes.NewReader(PublicationBPMN))
	require.NoError(t, err)
	require.Equal(t, PublicationBPMN, data)
}

func TestLatin1Encoding(t *testing.T) {
	xml := "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><definitions xmlns=\"" + NSBPMN + "\" id=\"d\"><process id=\"p\">" +
		"<startEvent id=\"s\" name=\"D\xe9but\"/><sequenceFlow id=\"f\" sourceRef=\"s\" targetRef=\"e\"/><endEvent id=\"e\"/></process></definitions>"
	g, problems, err := Compile([]byte(xml), Options{})
	require.NoError(t, err)
	require.Empty(t, problems)
	require.Equal(t, "Début", g.Nodes["s"].Name)
}
