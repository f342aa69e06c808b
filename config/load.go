package config

import (
	"bytes"
	"embed"
	"fmt"
	"os"
	"path"
	"reflect"
	"sort"
	"strings"

	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"
)

//go:embed profiles/*.yaml
var profileFS embed.FS

// DefaultProfile is the profile a run uses when none is named.
const DefaultProfile = "quick"

// EnvPrefix starts the environment variable of every key: optim.lr is read
// from LEARNVIEWS_OPTIM_LR.
const EnvPrefix = "LEARNVIEWS"

// Sources are the places settings come from, lowest precedence first after
// the built-in defaults.
type Sources struct {
	Profile string   // embedded profile name; "" means DefaultProfile
	File    string   // a user YAML file, or ""
	Env     []string // "NAME=value" pairs, usually os.Environ()
	Set     []string // "key=value" overrides
}

// ProfileInfo names a profile and says what it is for.
type ProfileInfo struct {
	Name, Description string
}

// Profiles lists the embedded profiles, sorted by name.
func Profiles() ([]ProfileInfo, error) {
	entries, err := profileFS.ReadDir("profiles")
	if err != nil {
		return nil, err
	}
	var out []ProfileInfo
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".yaml")
		b, err := profileFS.ReadFile(path.Join("profiles", e.Name()))
		if err != nil {
			return nil, err
		}
		var head struct {
			Description string `yaml:"description"`
		}
		if err := yaml.Unmarshal(b, &head); err != nil {
			return nil, fmt.Errorf("config: profile %s: %w", name, err)
		}
		out = append(out, ProfileInfo{name, head.Description})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// ProfileYAML returns an embedded profile's text.
func ProfileYAML(name string) ([]byte, error) {
	b, err := profileFS.ReadFile(path.Join("profiles", name+".yaml"))
	if err != nil {
		ps, _ := Profiles()
		var names []string
		for _, p := range ps {
			names = append(names, p.Name)
		}
		return nil, fmt.Errorf("config: unknown profile %q (known: %s)", name, strings.Join(names, ", "))
	}
	return b, nil
}

// Keys returns every configuration key, sorted.
func Keys() []string {
	m := flatten(toMap(Default()), "")
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Load resolves a configuration from its sources and validates it. When
// the resolved scale is small, the settings listed under small apply just
// above the profile: a file, the environment and --set still override them.
func Load(src Sources) (Config, error) {
	c, err := load(src, nil)
	if err != nil || c.Scale != "small" {
		return c, err
	}
	if len(c.Small) == 0 {
		return c, nil
	}
	return load(src, c.Small)
}

// load resolves the sources with the settings small applied over the
// profile.
func load(src Sources, small []string) (Config, error) {
	defaults := flatten(toMap(Default()), "")
	v := viper.New()
	v.SetConfigType("yaml")
	for k, val := range defaults {
		v.SetDefault(k, val)
	}
	profile := src.Profile
	if profile == "" {
		profile = DefaultProfile
	}
	pb, err := ProfileYAML(profile)
	if err != nil {
		return Config{}, err
	}
	if err := mergeYAML(v, pb, "profile "+profile, defaults); err != nil {
		return Config{}, err
	}
	v.Set("profile", profile)
	if len(small) > 0 {
		m := map[string]any{}
		for _, kv := range small {
			k, val, _ := strings.Cut(kv, "=")
			parsed, err := parseValue(val)
			if err != nil {
				return Config{}, fmt.Errorf("config: small: %q: %w", kv, err)
			}
			setNested(m, strings.TrimSpace(k), parsed)
		}
		if err := v.MergeConfigMap(m); err != nil {
			return Config{}, fmt.Errorf("config: small: %w", err)
		}
	}
	if src.File != "" {
		b, err := os.ReadFile(src.File)
		if err != nil {
			return Config{}, fmt.Errorf("config: %w", err)
		}
		if err := mergeYAML(v, b, src.File, defaults); err != nil {
			return Config{}, err
		}
	}
	env := map[string]string{}
	for _, kv := range src.Env {
		if k, val, ok := strings.Cut(kv, "="); ok {
			env[k] = val
		}
	}
	if err := checkEnv(env, defaults); err != nil {
		return Config{}, err
	}
	for k := range defaults {
		name := EnvName(k)
		if val, ok := env[name]; ok {
			parsed, err := parseValue(val)
			if err != nil {
				return Config{}, fmt.Errorf("config: environment %s=%q: %w", name, val, err)
			}
			if err := checkValue(k, parsed); err != nil {
				return Config{}, fmt.Errorf("environment %s: %w", name, err)
			}
			v.Set(k, parsed)
		}
	}
	for _, kv := range src.Set {
		k, val, ok := strings.Cut(kv, "=")
		if !ok {
			return Config{}, fmt.Errorf("config: --set %q: want key=value", kv)
		}
		k = strings.TrimSpace(k)
		if _, known := defaults[k]; !known {
			return Config{}, unknownKey(k, "--set", defaults)
		}
		if k == "profile" {
			return Config{}, fmt.Errorf("config: --set %s: the profile is chosen with --profile", kv)
		}
		if strings.TrimSpace(val) == "" && keyTypes()[k] != nil && keyTypes()[k].Kind() != reflect.String {
			return Config{}, fmt.Errorf("config: --set %s: the value is empty", kv)
		}
		parsed, err := parseValue(val)
		if err != nil {
			return Config{}, fmt.Errorf("config: --set %s=%q: %w", k, val, err)
		}
		if err := checkValue(k, parsed); err != nil {
			return Config{}, fmt.Errorf("--set: %w", err)
		}
		v.Set(k, parsed)
	}
	var c Config
	if err := v.UnmarshalExact(&c); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	c.migrate()
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// EnvName returns the environment variable that sets key.
func EnvName(key string) string {
	return EnvPrefix + "_" + strings.ToUpper(strings.NewReplacer(".", "_").Replace(key))
}

func mergeYAML(v *viper.Viper, b []byte, where string, known map[string]any) error {
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("config: %s: %w", where, err)
	}
	flat := flatten(m, "")
	keys := make([]string, 0, len(flat))
	for k := range flat {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, ok := known[k]; !ok {
			return unknownKey(k, where, known)
		}
		if err := checkValue(k, flat[k]); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
	}
	if err := v.MergeConfig(bytes.NewReader(b)); err != nil {
		return fmt.Errorf("config: %s: %w", where, err)
	}
	return nil
}

func unknownKey(key, where string, known map[string]any) error {
	return fmt.Errorf("config: %s: %s", where, unknownKeyHint(key, known))
}

// unknownKeyHint says that key is unknown and lists the known keys of its
// section (or the known sections).
func unknownKeyHint(key string, known map[string]any) string {
	section, _, _ := strings.Cut(key, ".")
	var near []string
	for k := range known {
		if strings.HasPrefix(k, section+".") {
			near = append(near, k)
		}
	}
	sort.Strings(near)
	if len(near) == 0 {
		var sections []string
		seen := map[string]bool{}
		for k := range known {
			s, _, _ := strings.Cut(k, ".")
			if !seen[s] {
				seen[s] = true
				sections = append(sections, s)
			}
		}
		sort.Strings(sections)
		return fmt.Sprintf("unknown key %q (known sections: %s)", key, strings.Join(sections, ", "))
	}
	return fmt.Sprintf("unknown key %q (known keys in %s: %s)", key, section, strings.Join(near, ", "))
}

// setNested sets the dotted key in a tree of maps.
func setNested(m map[string]any, key string, val any) {
	parts := strings.Split(key, ".")
	for _, p := range parts[:len(parts)-1] {
		sub, ok := m[p].(map[string]any)
		if !ok {
			sub = map[string]any{}
			m[p] = sub
		}
		m = sub
	}
	m[parts[len(parts)-1]] = val
}

func parseValue(s string) (any, error) {
	var v any
	if err := yaml.Unmarshal([]byte(s), &v); err != nil {
		return nil, err
	}
	if v == nil {
		return "", nil
	}
	return v, nil
}

func toMap(c Config) map[string]any {
	b, err := yaml.Marshal(c)
	if err != nil {
		panic(err) // a Config always marshals
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		panic(err)
	}
	return m
}

// flatten turns nested maps into dotted keys; lists stay values.
func flatten(m map[string]any, prefix string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		key := k
		if prefix != "" {
			key = prefix + "." + k
		}
		if sub, ok := v.(map[string]any); ok {
			for kk, vv := range flatten(sub, key) {
				out[kk] = vv
			}
			continue
		}
		out[key] = v
	}
	return out
}

// YAML returns the configuration as YAML, every key present.
func (c Config) YAML() ([]byte, error) { return yaml.Marshal(c) }

// DiffYAML names the first key (in sorted order) whose value differs
// between two resolved configurations written by YAML, as
// "key = old (now new)", or returns "" when they agree.
func DiffYAML(a, b []byte) string {
	var ma, mb map[string]any
	if yaml.Unmarshal(a, &ma) != nil || yaml.Unmarshal(b, &mb) != nil {
		if bytes.Equal(a, b) {
			return ""
		}
		return "another configuration"
	}
	fa, fb := flatten(ma, ""), flatten(mb, "")
	keys := make([]string, 0, len(fa)+len(fb))
	for k := range fa {
		keys = append(keys, k)
	}
	for k := range fb {
		if _, ok := fa[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !reflect.DeepEqual(fa[k], fb[k]) {
			return fmt.Sprintf("%s = %v (now %v)", k, fa[k], fb[k])
		}
	}
	return ""
}
