package jsonkeys

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	type inner struct {
		Name string `json:"name"`
	}
	type body struct {
		UserID string          `json:"user_id"`
		Inner  inner           `json:"inner"`
		List   []inner         `json:"list"`
		Raw    json.RawMessage `json:"raw"`
	}
	bt := reflect.TypeFor[*body]()
	mt := reflect.TypeFor[map[string]json.RawMessage]()
	for _, c := range []struct {
		data string
		typ  reflect.Type
		want string // "" for no error
	}{
		{`{"user_id":"a","inner":{"name":"b"},"list":[{"name":"c"}]}`, bt, ""},
		{`{"user_id":"a","user_id":"b"}`, bt, `key "user_id" appears twice`},
		{`{"user_id":"a","USER_ID":"b"}`, bt, `keys "user_id" and "USER_ID" are the same field`},
		{`{"User_Id":"a"}`, bt, `unknown field "User_Id": field names are case-sensitive; did you mean "user_id"?`},
		{`{"inner":{"name":"a","name":"b"}}`, bt, `key "name" appears twice`},
		{`{"list":[{"name":"a"},{"name":"b","Name":"c"}]}`, bt, `keys "name" and "Name"`},
		{`{"raw":{"x":1,"x":2}}`, bt, `key "x" appears twice`}, // duplicates anywhere, even in opaque values
		{`{"raw":{"X":1}}`, bt, ""}, // an opaque value's names are not ours
		{`{"lockout_threshold":3,"lockout_threshold":4}`, mt, `key "lockout_threshold" appears twice`},
		{`{"a":1,"A":2}`, mt, `keys "a" and "A" are the same field`},
		{`{"a":1} {"a":1,"a":2}`, mt, ""}, // only the first value: a strict decoder refuses the second
		{`{"a":`, mt, ""},                 // malformed: the decoder's to report
		{strings.Repeat("[", 40), mt, "nests deeper than 32 levels"},
	} {
		err := Check([]byte(c.data), c.typ)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("Check(%s): %v", c.data, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("Check(%s) = %v, want %q", c.data, err, c.want)
		}
	}
}
