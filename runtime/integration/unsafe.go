package integration

import "unsafe"

// unsafeString returns b as a string sharing its memory. Callers use it only
// for strings that are consumed before b changes.
func unsafeString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
