package integration

import "unsafe"

// unsafeString returns b as a string sharing its memory. Callers use it only
// for strings that are consumed before b changes.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// unsafeBytes returns s as a byte slice sharing its memory. Callers only
// read it, and only while s is in use.
func unsafeBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
