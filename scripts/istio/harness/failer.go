package main

import (
	"fmt"
	"os"
)

// failer stands in for *testing.T where istiod's in-process test servers want one: a failure ends the
// process with status 2, logs are dropped unless ISTIO_HARNESS_VERBOSE is set.
type failer struct {
	verbose  bool
	tempDirs []string
}

func newFailer() *failer { return &failer{verbose: os.Getenv("ISTIO_HARNESS_VERBOSE") != ""} }

func (f *failer) Fail()         { f.Fatal("failed") }
func (f *failer) FailNow()      { f.Fatal("failed") }
func (f *failer) Helper()       {}
func (f *failer) Skip(a ...any) { f.Fatal(append([]any{"skipped:"}, a...)...) }

func (f *failer) Fatal(args ...any) {
	fmt.Fprintln(os.Stderr, append([]any{"istio-harness:"}, args...)...)
	f.cleanup()
	os.Exit(2)
}

func (f *failer) Fatalf(format string, args ...any) { f.Fatal(fmt.Sprintf(format, args...)) }

func (f *failer) Log(args ...any) {
	if f.verbose {
		fmt.Fprintln(os.Stderr, args...)
	}
}

func (f *failer) Logf(format string, args ...any) { f.Log(fmt.Sprintf(format, args...)) }

func (f *failer) TempDir() string {
	dir, err := os.MkdirTemp("", "istio-harness-")
	if err != nil {
		f.Fatal(err)
	}
	f.tempDirs = append(f.tempDirs, dir)
	return dir
}

// Cleanup drops the function: the servers' goroutines end with the process, and stopping them first
// would only add time.
func (f *failer) Cleanup(func()) {}

func (f *failer) cleanup() {
	for _, dir := range f.tempDirs {
		_ = os.RemoveAll(dir)
	}
}
