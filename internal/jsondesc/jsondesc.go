// Package jsondesc names decoded JSON values in error messages, so that a
// reader of a run's files says what it found where it wanted something
// else.
package jsondesc

import (
	"encoding/json"
	"fmt"
)

// Describe names a value decoded with json.Decoder.UseNumber: "string
// \"x\"", "number 5", "bool true", "nothing (missing or null)", or its Go
// type for objects and arrays.
func Describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "nothing (missing or null)"
	case string:
		return fmt.Sprintf("string %q", v)
	case json.Number:
		return "number " + v.String()
	case bool:
		return fmt.Sprintf("bool %v", v)
	default:
		return fmt.Sprintf("%T", v)
	}
}
