// Package examples holds runnable example configurations. Its tests load and
// validate every example, so an example that stops working fails CI.
package examples
