package storetest

import (
	"reflect"
	"time"
)

var timeType = reflect.TypeFor[time.Time]()

// same reports whether got is want as the server sees it. Times are
// compared as instants: a store may return them in another location and
// without a monotonic reading, but to the nanosecond. A nil slice is the
// same as an empty one, as encodings commonly drop empty lists and the
// server only ranges over them.
func same(got, want any) bool {
	return sameValue(reflect.ValueOf(got), reflect.ValueOf(want))
}

func sameValue(a, b reflect.Value) bool {
	if !a.IsValid() || !b.IsValid() {
		return a.IsValid() == b.IsValid()
	}
	if a.Type() != b.Type() {
		return false
	}
	if a.Type() == timeType {
		return a.Interface().(time.Time).Equal(b.Interface().(time.Time))
	}
	switch a.Kind() {
	case reflect.Struct:
		for i := range a.NumField() {
			if !sameValue(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Slice, reflect.Array:
		if a.Len() != b.Len() {
			return false
		}
		for i := range a.Len() {
			if !sameValue(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return sameValue(a.Elem(), b.Elem())
	case reflect.Map, reflect.Func, reflect.Chan:
		return reflect.DeepEqual(a.Interface(), b.Interface())
	}
	return a.Equal(b)
}

// zeroFields lists the fields of the struct v left at their zero value,
// looking into nested structs (times apart), pointers to them and the first
// element of slices of them (of times apart). A full record used to test a round trip must
// have none: a field added to a server type without a value here would go
// untested, and a store keeping fields in columns could drop it unseen.
func zeroFields(v any) []string {
	var out []string
	var walk func(prefix string, v reflect.Value)
	walk = func(prefix string, v reflect.Value) {
		for i := range v.NumField() {
			f, name := v.Field(i), prefix+v.Type().Field(i).Name
			if f.IsZero() {
				out = append(out, name)
				continue
			}
			switch {
			case f.Kind() == reflect.Struct && f.Type() != timeType:
				walk(name+".", f)
			case f.Kind() == reflect.Pointer && f.Elem().Kind() == reflect.Struct:
				walk(name+".", f.Elem())
			case f.Kind() == reflect.Slice && f.Type().Elem().Kind() == reflect.Struct && f.Type().Elem() != timeType:
				if f.Len() == 0 {
					out = append(out, name)
				} else {
					walk(name+"[0].", f.Index(0))
				}
			case f.Kind() == reflect.Slice && f.Len() == 0:
				out = append(out, name)
			}
		}
	}
	walk("", reflect.ValueOf(v))
	return out
}
