package browser

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// profilePattern names the temporary profiles chromedp creates for us.
const profilePattern = "chromedp-runner*"

// sweepStaleProfiles removes temporary browser profiles left by a Waymark
// that was killed (SIGKILL, OOM) before it could clean up. A profile is
// stale when Chromium's SingletonLock names this host and a process that
// no longer exists; profiles of browsers still running, on this host or
// another sharing the directory, are left alone. It returns the removed
// paths.
func sweepStaleProfiles(dir string) []string {
	host, err := os.Hostname()
	if err != nil {
		return nil
	}
	matches, _ := filepath.Glob(filepath.Join(dir, profilePattern))
	var removed []string
	for _, m := range matches {
		target, err := os.Readlink(filepath.Join(m, "SingletonLock"))
		if err != nil {
			continue // no lock: starting up, or not a Chromium profile
		}
		i := strings.LastIndexByte(target, '-')
		if i < 0 || target[:i] != host {
			continue
		}
		pid, err := strconv.Atoi(target[i+1:])
		if err != nil || alive(pid) {
			continue
		}
		if os.RemoveAll(m) == nil {
			removed = append(removed, m)
		}
	}
	return removed
}

// alive reports whether a process with pid exists and is not a zombie: a
// browser killed a moment ago stays a zombie until its parent reaps it,
// and its profile is as stale as if it were gone.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil && err != syscall.EPERM {
		return false
	}
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return true // no /proc here: trust kill(2)
	}
	// pid (comm) state …; comm may hold spaces and parentheses.
	if i := strings.LastIndexByte(string(stat), ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z'
	}
	return true
}
