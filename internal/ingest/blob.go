package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Blobs is a content-addressed store of raw files on disk: a blob with SHA-256
// "abcdef…" lives at Dir/ab/cdef…. Puts write to a temporary file in Dir/tmp
// and rename it into place, so readers never see a partial blob and storing
// the same content twice is harmless. Directories are 0700 and blobs 0600:
// raw uploads hold personal data before anonymisation.
type Blobs struct {
	Dir string
}

// ErrBadHash is returned for a hash that is not 64 lower-case hex digits.
var ErrBadHash = errors.New("not a sha256 hex digest")

// Put stores the content of r and returns its SHA-256 (hex) and size.
func (b Blobs) Put(ctx context.Context, r io.Reader) (string, int64, error) {
	tmpDir := filepath.Join(b.Dir, "tmp")
	if err := os.MkdirAll(tmpDir, 0o700); err != nil {
		return "", 0, fmt.Errorf("blobs put: %w", err)
	}
	tmp, err := os.CreateTemp(tmpDir, "put-*")
	if err != nil {
		return "", 0, fmt.Errorf("blobs put: %w", err)
	}
	defer func() {
		_ = tmp.Close()
		_ = os.Remove(tmp.Name()) // no-op once renamed
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), ctxReader{ctx: ctx, r: r})
	if err != nil {
		return "", 0, fmt.Errorf("blobs put: copy: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return "", 0, fmt.Errorf("blobs put: sync: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", 0, fmt.Errorf("blobs put: close: %w", err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	dst, _ := b.Path(sum)
	if _, err := os.Stat(dst); err == nil {
		return sum, n, nil // already stored: idempotent
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return "", 0, fmt.Errorf("blobs put: %w", err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return "", 0, fmt.Errorf("blobs put: rename: %w", err)
	}
	return sum, n, nil
}

// Path returns where the blob with this SHA-256 lives (whether or not it
// exists).
func (b Blobs) Path(sha string) (string, error) {
	if !validSHA(sha) {
		return "", fmt.Errorf("blobs path %q: %w", sha, ErrBadHash)
	}
	return filepath.Join(b.Dir, sha[:2], sha[2:]), nil
}

// Open opens the blob for reading; a missing blob gives an error matching
// fs.ErrNotExist.
func (b Blobs) Open(sha string) (*os.File, error) {
	p, err := b.Path(sha)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("blobs open %s: %w", sha, fs.ErrNotExist)
		}
		return nil, fmt.Errorf("blobs open %s: %w", sha, err)
	}
	return f, nil
}

func validSHA(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// ctxReader stops a copy when its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
