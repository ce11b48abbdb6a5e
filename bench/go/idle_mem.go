package main

// idle_mem: the main goroutine starts 100,000 goroutines; each marks itself
// started (a WaitGroup) and blocks receiving from one shared channel. Once
// all have started the main goroutine reads VmRSS again: the metric is the
// growth of VmRSS (/proc/self/status) since before the first spawn, divided
// by 100,000 (bytes per goroutine). The same run also reports
// idle_mem_spawn: wall ms from the first spawn until all have started. Then
// the channel is closed and every goroutine must see it and finish. Same
// definition as bench/src/{goro,may,tokio}_impl/idle_mem.rs.

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const idleGoroutines = 100_000

func init() {
	register("idle_mem", "B/goroutine", runIdleMem)
	registerAlso("idle_mem", "idle_mem_spawn", "ms")
}

// rssBytes is VmRSS of /proc/self/status, in bytes.
func rssBytes() (int64, error) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kib, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("cannot parse VmRSS %q", rest)
			}
			return kib * 1024, nil
		}
	}
	return 0, fmt.Errorf("no VmRSS line in /proc/self/status")
}

func runIdleMem() (outcome, error) {
	ch := make(chan struct{})
	var started, finished sync.WaitGroup
	var woken atomic.Int64
	before, err := rssBytes()
	if err != nil {
		return outcome{}, err
	}
	start := time.Now()
	started.Add(idleGoroutines)
	finished.Add(idleGoroutines)
	for g := 0; g < idleGoroutines; g++ {
		go func() {
			defer finished.Done()
			started.Done()
			if _, ok := <-ch; !ok {
				woken.Add(1)
			}
		}()
	}
	started.Wait()
	spawn := time.Since(start)
	after, err := rssBytes()
	if err != nil {
		return outcome{}, err
	}
	close(ch)
	finished.Wait()
	if err := checkEq("goroutines that saw the close", woken.Load(), idleGoroutines); err != nil {
		return outcome{}, err
	}
	per := float64(after-before) / idleGoroutines
	if per < 0 {
		per = 0
	}
	return outcome{
		value: per,
		notes: []string{
			fmt.Sprintf("spawn %.1f ms", msOf(spawn)),
			fmt.Sprintf("VmRSS %.1f MiB before, %.1f MiB with all parked", float64(before)/1048576, float64(after)/1048576),
		},
		also: []also{{"idle_mem_spawn", msOf(spawn)}},
	}, nil
}
