package jmap

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
)

// resultReference is a back-reference to an earlier method's result
// (RFC 8620 §3.7).
type resultReference struct {
	ResultOf string `json:"resultOf"`
	Name     string `json:"name"`
	Path     string `json:"path"`
}

var errPointer = errors.New("path does not match the result")

// evalPointer evaluates an RFC 6901 JSON Pointer with JMAP's extension
// (RFC 8620 §3.7): a "*" token on an array applies the rest of the path to
// every item and gives the array of results, with results that are arrays
// flattened into it.
func evalPointer(doc any, path string) (any, error) {
	if path == "" {
		return doc, nil
	}
	if path[0] != '/' {
		return nil, errPointer
	}
	toks := strings.Split(path[1:], "/")
	if len(toks) > 32 {
		return nil, errPointer
	}
	for i, t := range toks {
		toks[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	return evalTokens(doc, toks)
}

func evalTokens(v any, toks []string) (any, error) {
	if len(toks) == 0 {
		return v, nil
	}
	tok, rest := toks[0], toks[1:]
	switch x := v.(type) {
	case map[string]any:
		child, ok := x[tok]
		if !ok {
			return nil, errPointer
		}
		return evalTokens(child, rest)
	case []any:
		if tok == "*" {
			out := make([]any, 0, len(x))
			for _, item := range x {
				r, err := evalTokens(item, rest)
				if err != nil {
					return nil, err
				}
				if arr, ok := r.([]any); ok {
					out = append(out, arr...)
				} else {
					out = append(out, r)
				}
			}
			return out, nil
		}
		i, err := strconv.Atoi(tok)
		if err != nil || i < 0 || i >= len(x) || strconv.Itoa(i) != tok {
			return nil, errPointer
		}
		return evalTokens(x[i], rest)
	}
	return nil, errPointer
}

// resolveReferences replaces the "#name" arguments of a call with the
// values their result references point to (RFC 8620 §3.7). responses are
// the responses so far.
func resolveReferences(args json.RawMessage, responses []invocation) (json.RawMessage, *methodError) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(args, &m); err != nil {
		return nil, invalidArgs("arguments must be an object")
	}
	changed := false
	for k, raw := range m {
		if !strings.HasPrefix(k, "#") {
			continue
		}
		name := k[1:]
		if _, dup := m[name]; dup {
			return nil, invalidArgs("both %q and %q given", name, k)
		}
		var ref resultReference
		if err := strictUnmarshal(raw, &ref); err != nil || ref.ResultOf == "" || ref.Name == "" {
			return nil, invalidArgs("%q is not a ResultReference", k)
		}
		val, merr := lookupReference(ref, responses)
		if merr != nil {
			return nil, merr
		}
		delete(m, k)
		m[name] = val
		changed = true
	}
	if !changed {
		return args, nil
	}
	out, err := json.Marshal(m)
	if err != nil {
		return nil, mErr(errServerFail, "cannot encode arguments")
	}
	return out, nil
}

func lookupReference(ref resultReference, responses []invocation) (json.RawMessage, *methodError) {
	for _, r := range responses {
		if r.CallID != ref.ResultOf {
			continue
		}
		if r.Name != ref.Name {
			return nil, mErr(errInvalidResultRef, "call %q answered %s, not %s", ref.ResultOf, r.Name, ref.Name)
		}
		var doc any
		if err := json.Unmarshal(r.Args, &doc); err != nil {
			return nil, mErr(errInvalidResultRef, "cannot read the result of %q", ref.ResultOf)
		}
		v, err := evalPointer(doc, ref.Path)
		if err != nil {
			return nil, mErr(errInvalidResultRef, "path %q does not match the result of %q", ref.Path, ref.ResultOf)
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, mErr(errServerFail, "cannot encode the referenced value")
		}
		return b, nil
	}
	return nil, mErr(errInvalidResultRef, "no earlier call %q", ref.ResultOf)
}

// strictUnmarshal decodes one JSON value into v, refusing unknown fields
// and trailing data.
func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	return nil
}
