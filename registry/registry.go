// Package registry maps names to constructors: the encoders, critics,
// bounds, generators, games, colour spaces and data sets that a
// configuration names. Each kind of thing has one Registry, declared in the
// package that owns the thing and keyed by the configuration key that names
// it (encoder.arch, critic.bound, ...); an addition is one Register call in
// one file, and the config package validates names against the registries
// that the program links.
//
// Registries are package-level state, filled while packages initialise, as
// the standard library's image formats and database drivers are. The
// package needs no gorgonia.
package registry

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Registry maps names to values of type T, usually constructors.
type Registry[T any] struct {
	key     string
	mu      sync.RWMutex
	entries map[string]T
	docs    map[string]string
}

// index holds every registry by configuration key.
var (
	indexMu sync.RWMutex
	index   = map[string]namer{}
)

type namer interface {
	Names() []string
	Doc(name string) string
}

// New returns an empty registry for the values of configuration key key
// (for example "encoder.arch"). A key has at most one registry; New panics
// if key has one already.
func New[T any](key string) *Registry[T] {
	r := &Registry[T]{key: key, entries: map[string]T{}, docs: map[string]string{}}
	indexMu.Lock()
	defer indexMu.Unlock()
	if _, dup := index[key]; dup {
		panic("registry: two registries for key " + key)
	}
	index[key] = r
	return r
}

// Key returns the configuration key the registry's names are values of.
func (r *Registry[T]) Key() string { return r.key }

// Register adds v under name, with a one-line description doc. Names are
// lower case; Register panics on an empty or duplicate name, which is a
// programming error found at start-up.
func (r *Registry[T]) Register(name, doc string, v T) {
	if name == "" || name != strings.ToLower(strings.TrimSpace(name)) {
		panic(fmt.Sprintf("registry: %s: bad name %q (want lower case, no spaces around)", r.key, name))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.entries[name]; dup {
		panic(fmt.Sprintf("registry: %s: %q registered twice", r.key, name))
	}
	r.entries[name] = v
	r.docs[name] = doc
}

// Lookup returns the value registered under name; an unknown name is an
// error that names the key and lists the known names.
func (r *Registry[T]) Lookup(name string) (T, error) {
	r.mu.RLock()
	v, ok := r.entries[name]
	r.mu.RUnlock()
	if !ok {
		var zero T
		return zero, &UnknownError{Key: r.key, Name: name, Known: r.Names()}
	}
	return v, nil
}

// Names returns the registered names in sorted order.
func (r *Registry[T]) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.entries))
	for n := range r.entries {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Doc returns the description registered with name.
func (r *Registry[T]) Doc(name string) string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.docs[name]
}

// Has reports whether name is registered.
func (r *Registry[T]) Has(name string) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	_, ok := r.entries[name]
	return ok
}

// UnknownError is a name that no registered value has.
type UnknownError struct {
	Key   string
	Name  string
	Known []string
}

func (e *UnknownError) Error() string {
	return fmt.Sprintf("%s %q is not known (known: %s)", e.Key, e.Name, strings.Join(e.Known, ", "))
}

// Names returns the names registered for configuration key key, and false
// when no registry for key is linked into the program.
func Names(key string) ([]string, bool) {
	indexMu.RLock()
	r, ok := index[key]
	indexMu.RUnlock()
	if !ok {
		return nil, false
	}
	return r.Names(), true
}

// Doc returns the description of name in the registry for key.
func Doc(key, name string) string {
	indexMu.RLock()
	r, ok := index[key]
	indexMu.RUnlock()
	if !ok {
		return ""
	}
	return r.Doc(name)
}

// Keys returns the configuration keys that have a registry, sorted.
func Keys() []string {
	indexMu.RLock()
	defer indexMu.RUnlock()
	out := make([]string, 0, len(index))
	for k := range index {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
