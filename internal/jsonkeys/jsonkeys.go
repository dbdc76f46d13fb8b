// Package jsonkeys refuses the JSON that encoding/json accepts silently but
// other readers take differently: a key given twice, and a key that matches
// a field only case-insensitively. The HTTP API checks every body with it,
// and the server a policy file, so that both refuse alike.
package jsonkeys

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"unicode"
)

// maxJSONDepth bounds how deep a document may nest. The API's bodies are
// two levels deep; the bound keeps Check's stack small on a hostile body.
const maxJSONDepth = 32

// Check refuses the JSON that encoding/json accepts silently but other
// readers take differently, so that a portal, a proxy or a log that reads
// the document sees what the server acts on:
//
//   - a key twice in one object, at any depth (encoding/json keeps the last;
//     other parsers keep the first or refuse), counting keys that differ
//     only in case as the same key, since encoding/json does;
//   - a key that is one of the target's fields only case-insensitively
//     (encoding/json matches "User_Id" to user_id; a case-sensitive reader
//     does not).
//
// t is the type decoded into. Malformed JSON is left to the decoder, which
// says what is wrong in its own words; only the first value is checked, as
// a strict decoder refuses a second. The errors say what to do, and are the
// caller's to wrap (the HTTP API makes them bad_request).
func Check(data []byte, t reflect.Type) error {
	type frame struct {
		object  bool
		typ     reflect.Type      // the object's or array's type; nil if opaque
		wantKey bool              // in an object: the next token is a key or '}'
		next    reflect.Type      // in an object: the type of the value of the last key
		seen    map[string]string // in an object: folded key → key as sent
	}
	var stack []*frame
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // the end, or malformed JSON: decode reports it
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.wantKey {
			key, ok := tok.(string)
			if !ok { // '}'
				stack = stack[:len(stack)-1]
				if len(stack) == 0 {
					return nil
				}
				if p := stack[len(stack)-1]; p.object {
					p.wantKey = true
				}
				continue
			}
			folded := foldKey(key)
			if prev, dup := top.seen[folded]; dup {
				if prev == key {
					return fmt.Errorf("key %q appears twice in one object: give each field once", key)
				}
				return fmt.Errorf("keys %q and %q are the same field here: give it once, spelled as documented", prev, key)
			}
			top.seen[folded] = key
			child, err := fieldType(top.typ, key)
			if err != nil {
				return err
			}
			top.next, top.wantKey = child, false
			continue
		}
		// A value, or the end of an array.
		var typ reflect.Type
		switch {
		case top == nil:
			typ = t
		case top.object:
			typ = top.next
		default:
			typ = elemType(top.typ)
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			if len(stack) == maxJSONDepth {
				return fmt.Errorf("the JSON nests deeper than %d levels", maxJSONDepth)
			}
			obj := tok == json.Delim('{')
			f := &frame{object: obj, typ: opaque(typ), wantKey: obj}
			if obj {
				f.seen = map[string]string{}
			}
			stack = append(stack, f)
			continue
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		if len(stack) == 0 {
			return nil
		}
		if p := stack[len(stack)-1]; p.object {
			p.wantKey = true
		}
	}
}

// foldKey is the key as encoding/json compares names: equal for two keys
// exactly when bytes.EqualFold says so.
func foldKey(k string) string {
	return strings.Map(func(r rune) rune { return unicode.ToUpper(unicode.ToLower(r)) }, k)
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// opaque is t without pointers, nil if it reads JSON its own way (its
// field names, if any, are not ours to check) or is not known.
func opaque(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || reflect.PointerTo(t).Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler) {
		return nil
	}
	return t
}

func elemType(t reflect.Type) reflect.Type {
	if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
		return t.Elem()
	}
	return nil
}

// fieldType is the type of key's value in an object decoded into t: a
// struct's field (refused if it matches only case-insensitively), a map's
// element; nil if not known, such as an unknown field, which the decoder
// refuses.
func fieldType(t reflect.Type, key string) (reflect.Type, error) {
	switch {
	case t == nil:
		return nil, nil
	case t.Kind() == reflect.Map:
		return t.Elem(), nil
	case t.Kind() != reflect.Struct:
		return nil, nil
	}
	fields := structFields(t)
	if ft, ok := fields[key]; ok {
		return ft, nil
	}
	for name := range fields {
		if strings.EqualFold(name, key) {
			return nil, fmt.Errorf("unknown field %q: field names are case-sensitive; did you mean %q?", key, name)
		}
	}
	return nil, nil
}

var fieldCache sync.Map // reflect.Type → map[string]reflect.Type

// structFields maps the JSON names of t's fields, as encoding/json reads
// them (tags, embedded structs' promoted fields), to their types.
func structFields(t reflect.Type) map[string]reflect.Type {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	m := map[string]reflect.Type{}
	var embedded []reflect.Type
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				embedded = append(embedded, ft) // promoted, after the outer fields, which win
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = f.Type
	}
	for _, et := range embedded {
		for name, ft := range structFields(et) {
			if _, ok := m[name]; !ok {
				m[name] = ft
			}
		}
	}
	fieldCache.Store(t, m)
	return m
}
