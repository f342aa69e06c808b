package config

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"
	"sync"
)

// keyTypes maps every key to the Go type of its field in Config.
var keyTypes = sync.OnceValue(func() map[string]reflect.Type {
	out := map[string]reflect.Type{}
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if tag == "" || tag == "-" {
				continue
			}
			key := tag
			if prefix != "" {
				key = prefix + "." + tag
			}
			if f.Type.Kind() == reflect.Struct {
				walk(f.Type, key)
				continue
			}
			out[key] = f.Type
		}
	}
	walk(reflect.TypeOf(Config{}), "")
	return out
})

// checkValue reports a value that key's field cannot hold exactly: a
// fraction, a negative or too large a number where an integer is meant,
// text where a number is, a non-finite float. Values of keys with a
// structure of their own (sweep.axes, sweep.points) are left to Validate.
func checkValue(key string, v any) error {
	t, ok := keyTypes()[key]
	if !ok {
		return nil
	}
	bad := func(want string) error {
		return &ValueError{key, describeValue(v), want}
	}
	switch t.Kind() {
	case reflect.Slice:
		items, ok := v.([]any)
		if !ok {
			return bad("want a list, e.g. [1, 2]")
		}
		if t.Elem().Kind() == reflect.Struct {
			return nil
		}
		for i, item := range items {
			if err := checkScalar(fmt.Sprintf("%s[%d]", key, i), t.Elem(), item); err != nil {
				return err
			}
		}
		return nil
	}
	return checkScalar(key, t, v)
}

func checkScalar(key string, t reflect.Type, v any) error {
	bad := func(want string) error {
		return &ValueError{key, describeValue(v), want}
	}
	switch t.Kind() {
	case reflect.Int, reflect.Uint64:
		var f float64
		switch x := v.(type) {
		case int:
			f = float64(x)
			if t.Kind() == reflect.Uint64 && x < 0 {
				return bad("must be a whole number ≥ 0")
			}
			return nil
		case int64:
			f = float64(x)
		case uint64:
			if t.Kind() == reflect.Int && x > math.MaxInt64 {
				return bad("is out of the range of a whole number")
			}
			return nil
		case float64:
			f = x
		default:
			return bad("must be a whole number")
		}
		if f != math.Trunc(f) || math.IsInf(f, 0) || math.IsNaN(f) {
			return bad("must be a whole number, not a fraction")
		}
		if t.Kind() == reflect.Uint64 && (f < 0 || f >= 1<<64) {
			return bad("must be a whole number from 0 to 18446744073709551615")
		}
		if t.Kind() == reflect.Int && (f < math.MinInt64 || f >= math.MaxInt64) {
			return bad("is out of the range of a whole number")
		}
	case reflect.Float64:
		var f float64
		switch x := v.(type) {
		case int:
			return nil
		case float64:
			f = x
		default:
			return bad("must be a number")
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return bad("must be a finite number")
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			return bad("must be true or false")
		}
	case reflect.String:
		switch v.(type) {
		case string, int, float64, bool:
		default:
			return bad("must be text")
		}
	}
	return nil
}

// describeValue writes a value as the user gave it.
func describeValue(v any) any {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return v
}

// isDataFolderVar reports whether name is one of the data sets' folder
// variables (LEARNVIEWS_STL10_DIR and the like, which learnviews data list
// names): variables of their own, not settings.
func isDataFolderVar(name string) bool { return strings.HasSuffix(name, "_DIR") }

// checkEnv reports the first LEARNVIEWS_* variable that names no key (and
// no data folder), with the closest key's variable, and the first empty
// one.
func checkEnv(env map[string]string, known map[string]any) error {
	names := make(map[string]string, len(known))
	for k := range known {
		names[EnvName(k)] = k
	}
	var vars []string
	for name := range env {
		if _, isKey := names[name]; strings.HasPrefix(name, EnvPrefix+"_") && (isKey || !isDataFolderVar(name)) {
			vars = append(vars, name)
		}
	}
	sort.Strings(vars)
	for _, name := range vars {
		key, ok := names[name]
		if !ok {
			hint := ""
			if near := closest(name, names); near != "" {
				hint = fmt.Sprintf(" (did you mean %s?)", near)
			}
			if name == EnvName("profile") {
				return fmt.Errorf("config: environment %s: the profile is chosen with --profile, not the environment", name)
			}
			return fmt.Errorf("config: environment %s names no setting%s; see learnviews config --keys", name, hint)
		}
		if key == "profile" {
			return fmt.Errorf("config: environment %s: the profile is chosen with --profile, not the environment", name)
		}
		if strings.TrimSpace(env[name]) == "" {
			return fmt.Errorf("config: environment %s is empty: give it a value or unset it", name)
		}
	}
	return nil
}

// closest returns the name among candidates nearest to s in edit distance,
// if it is near enough to be a typo.
func closest(s string, candidates map[string]string) string {
	best, bestD := "", len(s)/3+1
	for c := range candidates {
		if d := editDistance(s, c); d < bestD || d == bestD && c < best {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
