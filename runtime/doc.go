// Package runtime is the gateway that serves applied stages.
//
// It must never import config, plan or apply, and never prints.
package runtime
