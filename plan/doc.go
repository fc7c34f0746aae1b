// Package plan computes what apply would do: a pure function (no I/O) from the
// desired model and the prior state to a Plan.
//
// It must not import config, apply or runtime, and never prints.
package plan
