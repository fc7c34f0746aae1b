package main

import "os"

func main() {
	os.Exit(Main())
}

// Main runs wsgwctl with the process's arguments, standard streams and
// environment and returns its exit status. Tests register it as the
// `wsgwctl` command of their testscript transcripts.
func Main() int {
	return run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Environ())
}
