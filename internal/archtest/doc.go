// Package archtest holds the test that keeps the package arrows of DESIGN.md:
// data flows config → plan → apply → state → runtime, the runtime never
// depends on config, plan or apply, the model and state packages stay leaves,
// and only the command line prints in colour.
package archtest
