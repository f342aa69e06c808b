package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteKeepsOldFileOnError(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ckpt")
	require.NoError(t, os.WriteFile(path, []byte("old"), 0o644))
	err := Write(path, func(w io.Writer) error {
		w.Write([]byte("half-written"))
		return errors.New("disk full")
	})
	require.ErrorContains(t, err, "disk full")
	got, _ := os.ReadFile(path)
	assert.Equal(t, "old", string(got))
	entries, _ := os.ReadDir(dir)
	assert.Len(t, entries, 1, "the temporary file is removed")
	require.NoError(t, Write(path, func(w io.Writer) error { _, err := w.Write([]byte("new")); return err }))
	got, _ = os.ReadFile(path)
	assert.Equal(t, "new", string(got))
}
