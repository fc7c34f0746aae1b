package model

import (
	"bytes"
	"encoding/json"
)

// CanonicalJSON encodes v in the canonical form used for deployment ids,
// configuration hashes and state comparison: object members sorted, no
// insignificant whitespace, no HTML escaping, and every member whose value is
// empty (null, "", false, 0, [] or {}, after the same treatment inside)
// removed, as are members named drop when drop is not "". Decoding treats an
// absent member like its zero value, so two values that decode alike encode
// alike. Array elements are kept: their position is meaningful.
func CanonicalJSON(v any, drop string) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(prune(tree, drop)); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// prune removes, recursively, object members whose value is empty or whose
// name is drop.
func prune(v any, drop string) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if drop != "" && k == drop {
				delete(v, k)
				continue
			}
			e = prune(e, drop)
			if isEmptyJSON(e) {
				delete(v, k)
				continue
			}
			v[k] = e
		}
	case []any:
		for i, e := range v {
			v[i] = prune(e, drop)
		}
	}
	return v
}

// isEmptyJSON reports whether a generic JSON value is null, "", false, 0,
// [] or {}.
func isEmptyJSON(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == ""
	case bool:
		return !v
	case json.Number:
		f, err := v.Float64()
		return err == nil && f == 0
	case map[string]any:
		return len(v) == 0
	case []any:
		return len(v) == 0
	}
	return false
}
