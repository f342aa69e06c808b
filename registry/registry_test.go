package registry

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRegistry(t *testing.T) {
	r := New[func() int]("test.thing")
	r.Register("two", "returns two", func() int { return 2 })
	r.Register("one", "returns one", func() int { return 1 })

	f, err := r.Lookup("two")
	require.NoError(t, err)
	assert.Equal(t, 2, f())
	assert.Equal(t, []string{"one", "two"}, r.Names())
	assert.Equal(t, "returns one", r.Doc("one"))
	assert.True(t, r.Has("one"))
	assert.False(t, r.Has("three"))

	_, err = r.Lookup("three")
	var ue *UnknownError
	require.True(t, errors.As(err, &ue))
	assert.EqualError(t, err, `test.thing "three" is not known (known: one, two)`)

	names, ok := Names("test.thing")
	assert.True(t, ok)
	assert.Equal(t, []string{"one", "two"}, names)
	assert.Equal(t, "returns two", Doc("test.thing", "two"))
	_, ok = Names("test.nothing")
	assert.False(t, ok)
	assert.Contains(t, Keys(), "test.thing")
}

func TestRegistryPanics(t *testing.T) {
	r := New[int]("test.panics")
	r.Register("a", "", 1)
	assert.Panics(t, func() { r.Register("a", "", 2) }, "duplicate name")
	assert.Panics(t, func() { r.Register("", "", 2) }, "empty name")
	assert.Panics(t, func() { r.Register("Upper", "", 2) }, "upper case")
	assert.Panics(t, func() { New[int]("test.panics") }, "second registry for a key")
}
