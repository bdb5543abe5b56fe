package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBlobs(t *testing.T) {
	t.Parallel()
	b := Blobs{Dir: t.TempDir()}
	ctx := context.Background()
	content := "nom;montant\nAGORA;17 833\n"
	want := sha256.Sum256([]byte(content))

	sha, n, err := b.Put(ctx, strings.NewReader(content))
	require.NoError(t, err)
	require.Equal(t, hex.EncodeToString(want[:]), sha)
	require.Equal(t, int64(len(content)), n)

	p, err := b.Path(sha)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(b.Dir, sha[:2], sha[2:]), p)

	f, err := b.Open(sha)
	require.NoError(t, err)
	got, err := io.ReadAll(f)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.Equal(t, content, string(got))

	// Idempotent: same content, same address, no leftovers.
	sha2, _, err := b.Put(ctx, strings.NewReader(content))
	require.NoError(t, err)
	require.Equal(t, sha, sha2)
	tmp, err := os.ReadDir(filepath.Join(b.Dir, "tmp"))
	require.NoError(t, err)
	require.Empty(t, tmp)

	// Private: raw uploads hold personal data.
	for _, d := range []string{filepath.Join(b.Dir, "tmp"), filepath.Dir(p)} {
		info, err := os.Stat(d)
		require.NoError(t, err)
		require.Equal(t, fs.FileMode(0o700), info.Mode().Perm(), d)
	}
	info, err := os.Stat(p)
	require.NoError(t, err)
	require.Equal(t, fs.FileMode(0o600), info.Mode().Perm())
}

func TestBlobsErrors(t *testing.T) {
	t.Parallel()
	b := Blobs{Dir: t.TempDir()}
	tests := []struct {
		name string
		sha  string
	}{
		{"traversal", "../../etc/passwd"},
		{"upper case", strings.Repeat("A", 64)},
		{"short", "abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := b.Path(tt.sha)
			require.ErrorIs(t, err, ErrBadHash)
			_, err = b.Open(tt.sha)
			require.ErrorIs(t, err, ErrBadHash)
		})
	}
	_, err := b.Open(strings.Repeat("a", 64))
	require.ErrorIs(t, err, fs.ErrNotExist)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err = b.Put(ctx, strings.NewReader("x"))
	require.ErrorIs(t, err, context.Canceled)
}

func createTemp(t *testing.T) (*os.File, error) {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "fetch-*")
	if err == nil {
		t.Cleanup(func() { _ = f.Close() })
	}
	return f, err
}
