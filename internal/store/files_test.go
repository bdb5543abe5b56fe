//go:build unix

package store_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/civicflow/civicflow/internal/store"
)

// The SQLite database (password hashes, personal data) and its -wal and
// -shm files are readable by their owner only, whatever the umask.
func TestSQLiteFilesArePrivate(t *testing.T) {
	old := syscall.Umask(0o002)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(dir, "civicflow.db")
	st, err := store.Open(context.Background(), store.Options{URL: "sqlite:" + path, Migrate: true})
	require.NoError(t, err)
	defer st.Close()
	require.NoError(t, st.SetSetting(context.Background(), "k", "v"))
	info, err := os.Stat(dir)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), info.Mode().Perm(), "a directory created for the database")
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		info, err := os.Stat(f)
		require.NoError(t, err, f)
		require.Equal(t, os.FileMode(0o600), info.Mode().Perm(), f)
	}
}
