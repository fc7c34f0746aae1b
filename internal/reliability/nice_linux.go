//go:build linux

package reliability

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// lowerPriority sets the nice value of every thread of the process to nice
// and returns the process's nice value afterwards. On Linux a nice value
// belongs to a thread, and threads inherit it from the thread that creates
// them, so every thread the Go runtime starts later inherits it too.
func lowerPriority(nice int) (int, error) {
	// A thread started by one not yet lowered during a pass keeps the old
	// value: pass again until a pass finds no new thread.
	done := map[int]bool{}
	for {
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return 0, fmt.Errorf("list the process's threads: %w", err)
		}
		fresh := false
		for _, t := range tasks {
			tid, err := strconv.Atoi(t.Name())
			if err != nil || done[tid] {
				continue
			}
			fresh, done[tid] = true, true
			// A thread may have ended since the listing; ESRCH is harmless.
			if err := syscall.Setpriority(syscall.PRIO_PROCESS, tid, nice); err != nil && !errors.Is(err, syscall.ESRCH) {
				return 0, fmt.Errorf("lower thread %d's priority: %w", tid, err)
			}
		}
		if !fresh {
			break
		}
	}
	// Getpriority returns 20 - nice on Linux.
	prio, err := syscall.Getpriority(syscall.PRIO_PROCESS, 0)
	if err != nil {
		return 0, fmt.Errorf("read the process's priority: %w", err)
	}
	return 20 - prio, nil
}
