// Command bench-go runs one benchmark of goro's comparison suite (DESIGN.md
// §3) on the Go runtime and prints its result as
//
//	RESULT <name> <value> <unit>
//
// Usage: bench-go <benchmark> [--procs N]. --procs sets GOMAXPROCS (default:
// the GOMAXPROCS environment variable, else the CPU count); benchmarks whose
// definition fixes the parallelism ignore it. Each benchmark lives in its own
// file and registers itself in init; the definitions are identical to the
// Rust versions in bench/src/{goro,may,tokio}_impl/. When a benchmark's
// result does not validate, the program prints why on stderr and exits 1.
package main

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"
)

// outcome is what one benchmark run produced.
type outcome struct {
	value float64  // in the benchmark's unit
	notes []string // extra facts, printed as INFO lines
	also  []also   // values of the entries the same run also reports
}

// also is the value of an entry reported by another benchmark's run (e.g.
// timers_cpu by timers; see reported_by in bench/src/spec.rs).
type also struct {
	name  string
	value float64
}

type benchmark struct {
	unit string
	run  func() (outcome, error)
	// also lists the entries this run also reports, in order.
	also []string
}

var benchmarks = map[string]benchmark{}

// reportedUnits are the units of the entries reported by another run.
var reportedUnits = map[string]string{}

// register adds a benchmark; called from each benchmark file's init.
func register(name, unit string, run func() (outcome, error)) {
	if _, dup := benchmarks[name]; dup {
		panic("duplicate benchmark " + name)
	}
	benchmarks[name] = benchmark{unit: unit, run: run}
}

// registerAlso declares that the run of benchmark parent (registered first)
// also reports the entry name, in unit.
func registerAlso(parent, name, unit string) {
	b, ok := benchmarks[parent]
	if !ok {
		panic("registerAlso before register of " + parent)
	}
	b.also = append(b.also, name)
	benchmarks[parent] = b
	reportedUnits[name] = unit
}

// nsPer is nanoseconds per operation.
func nsPer(elapsed time.Duration, ops int64) float64 {
	return float64(elapsed.Nanoseconds()) / float64(ops)
}

func elapsedNote(elapsed time.Duration) string {
	return fmt.Sprintf("elapsed %.1f ms", float64(elapsed.Nanoseconds())/1e6)
}

func usage() string {
	names := make([]string, 0, len(benchmarks))
	for name := range benchmarks {
		names = append(names, name)
	}
	sort.Strings(names)
	return "usage: bench-go <benchmark> [--procs N]\nbenchmarks: " + strings.Join(names, ", ")
}

func fail(code int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(code)
}

func main() {
	name := ""
	args := os.Args[1:]
	for i := 0; i < len(args); i++ {
		switch arg := args[i]; {
		case arg == "--procs" || arg == "-procs":
			if i+1 >= len(args) {
				fail(2, "--procs needs a positive integer\n%s", usage())
			}
			i++
			n, err := strconv.Atoi(args[i])
			if err != nil || n <= 0 {
				fail(2, "--procs needs a positive integer\n%s", usage())
			}
			runtime.GOMAXPROCS(n)
		case arg == "-h" || arg == "--help":
			fmt.Println(usage())
			return
		case name == "" && !strings.HasPrefix(arg, "-"):
			name = arg
		default:
			fail(2, "unexpected argument %q\n%s", arg, usage())
		}
	}
	if name == "" {
		fail(2, "%s", usage())
	}
	b, ok := benchmarks[name]
	if !ok {
		if _, reported := reportedUnits[name]; reported {
			fail(2, "%q is reported by another benchmark's run", name)
		}
		fail(2, "unknown benchmark %q\n%s", name, usage())
	}
	out, err := b.run()
	if err != nil {
		fail(1, "bench-go %s: INVALID RESULT: %v", name, err)
	}
	for _, note := range out.notes {
		fmt.Printf("INFO %s go: %s\n", name, note)
	}
	lines := []string{fmt.Sprintf("RESULT %s %.3f %s", name, out.value, b.unit)}
	for _, other := range b.also {
		found := false
		for _, a := range out.also {
			if a.name == other {
				lines = append(lines, fmt.Sprintf("RESULT %s %.3f %s", other, a.value, reportedUnits[other]))
				found = true
			}
		}
		if !found {
			fail(1, "bench-go %s: INVALID RESULT: no value for %s", name, other)
		}
	}
	for _, line := range lines {
		fmt.Println(line)
	}
}

// msOf is milliseconds.
func msOf(elapsed time.Duration) float64 {
	return float64(elapsed.Nanoseconds()) / 1e6
}

// sumBelow is 0 + 1 + ... + (n - 1).
func sumBelow(n int64) int64 { return n * (n - 1) / 2 }

// checkEq returns an error naming what when got != want (the Rust
// versions' check_eq, same message).
func checkEq(what string, got, want int64) error {
	if got != want {
		return fmt.Errorf("%s is %d, expected %d", what, got, want)
	}
	return nil
}
