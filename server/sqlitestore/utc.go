package sqlitestore

import (
	"reflect"
	"sync"
	"time"
)

var timeType = reflect.TypeFor[time.Time]()

// inUTC returns a copy of v with every time.Time in it, in nested structs,
// pointers, slices, arrays and maps, converted to UTC, so that the stored
// JSON has UTC times whatever the caller's location. The copy shares
// nothing that it changes with v, which it leaves alone; unexported fields
// (which encoding/json ignores) are copied as they are.
func inUTC[T any](v T) T {
	rv := reflect.ValueOf(&v).Elem()
	if !typeHasTime(rv.Type()) {
		return v
	}
	return utcCopy(rv).Interface().(T)
}

var hasTimeCache sync.Map // reflect.Type -> bool

// typeHasTime reports whether a value of type t can hold a time.Time in an
// exported field, element or pointee.
func typeHasTime(t reflect.Type) bool {
	if b, ok := hasTimeCache.Load(t); ok {
		return b.(bool)
	}
	b := hasTime(t, map[reflect.Type]bool{})
	hasTimeCache.Store(t, b)
	return b
}

// hasTime reports whether a value of type t can hold a time.Time.
func hasTime(t reflect.Type, seen map[reflect.Type]bool) bool {
	if t == timeType {
		return true
	}
	if seen[t] {
		return false
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return hasTime(t.Elem(), seen)
	case reflect.Map:
		return hasTime(t.Key(), seen) || hasTime(t.Elem(), seen)
	case reflect.Interface:
		return true
	case reflect.Struct:
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() && hasTime(f.Type, seen) {
				return true
			}
		}
	}
	return false
}

// utcCopy returns a copy of v (addressable or not) with its times in UTC.
func utcCopy(v reflect.Value) reflect.Value {
	t := v.Type()
	if t == timeType {
		return reflect.ValueOf(v.Interface().(time.Time).UTC())
	}
	if !typeHasTime(t) {
		return v
	}
	switch t.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		p := reflect.New(t.Elem())
		p.Elem().Set(utcCopy(v.Elem()))
		return p
	case reflect.Interface:
		if v.IsNil() {
			return v
		}
		out := reflect.New(t).Elem()
		out.Set(utcCopy(v.Elem()))
		return out
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeSlice(t, v.Len(), v.Len())
		for i := range v.Len() {
			out.Index(i).Set(utcCopy(v.Index(i)))
		}
		return out
	case reflect.Array:
		out := reflect.New(t).Elem()
		for i := range v.Len() {
			out.Index(i).Set(utcCopy(v.Index(i)))
		}
		return out
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeMapWithSize(t, v.Len())
		for it := v.MapRange(); it.Next(); {
			out.SetMapIndex(utcCopy(it.Key()), utcCopy(it.Value()))
		}
		return out
	case reflect.Struct:
		out := reflect.New(t).Elem()
		out.Set(v)
		for i := range t.NumField() {
			if t.Field(i).IsExported() {
				out.Field(i).Set(utcCopy(v.Field(i)))
			}
		}
		return out
	}
	return v
}
