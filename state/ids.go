package state

import (
	"crypto/rand"
	"fmt"
	"slices"
)

// NewLineage returns a new random lineage: a version 4 UUID in its canonical
// lowercase text form.
func NewLineage() string {
	var u [16]byte
	// crypto/rand.Read never returns an error (it aborts the program if the
	// system's random source fails).
	_, _ = rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// apiIDAlphabet is the alphabet of API ids (D-18).
const apiIDAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// APIIDLength is the length of an API id (D-18).
const APIIDLength = 10

// NewAPIID returns a new random API id: 10 lowercase letters and digits
// (D-18), each uniformly distributed.
func NewAPIID() string {
	const n = len(apiIDAlphabet)
	// Bytes at or above limit are rejected, so every character is equally
	// likely.
	const limit = 256 - 256%n
	id := make([]byte, 0, APIIDLength)
	var buf [32]byte
	for len(id) < APIIDLength {
		_, _ = rand.Read(buf[:])
		for _, b := range buf {
			if int(b) >= limit {
				continue
			}
			id = append(id, apiIDAlphabet[int(b)%n])
			if len(id) == APIIDLength {
				break
			}
		}
	}
	return string(id)
}

// API returns the API named name, or nil.
func (s *State) API(name string) *API {
	if s == nil {
		return nil
	}
	for _, api := range s.APIs {
		if api != nil && api.Config != nil && api.Config.Name == name {
			return api
		}
	}
	return nil
}

// Name returns the API's name ("" when it has no config).
func (a *API) Name() string {
	if a == nil || a.Config == nil {
		return ""
	}
	return a.Config.Name
}

// Deployment returns the deployment of the API's history with the given id,
// or nil.
func (a *API) Deployment(id string) *Deployment {
	if a == nil {
		return nil
	}
	for _, d := range a.Deployments {
		if d != nil && d.ID == id {
			return d
		}
	}
	return nil
}

// Newest returns the API's newest deployment (the last of its history), or
// nil when it has none.
func (a *API) Newest() *Deployment {
	if a == nil || len(a.Deployments) == 0 {
		return nil
	}
	return a.Deployments[len(a.Deployments)-1]
}

// sortedKeys returns the keys of m in order.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
