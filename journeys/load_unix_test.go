//go:build unix

package journeys

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// loadQuickly runs Load, failing the test instead of hanging when Load
// waits on a file (a named pipe that no one writes to blocks an open).
func loadQuickly(t *testing.T, paths ...string) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := Load(paths...)
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("Load(%q) did not return within 10s: it is waiting on a file", paths)
		return nil
	}
}

// TestLoadSpecialFiles checks that Load refuses what is not a regular file
// at once, naming the file and what is expected: a named pipe (given by
// name, found in a folder, or used as a snippet) and a device.
func TestLoadSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	mkfifo := func(name string) {
		t.Helper()
		if err := syscall.Mkfifo(name, 0o644); err != nil {
			t.Skipf("cannot make a named pipe here: %v", err)
		}
		t.Cleanup(func() { // release a Load stuck opening it, if the test failed so
			if f, err := os.OpenFile(name, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
				f.Close()
			}
		})
	}
	fifo := filepath.Join(dir, "fifo.yaml")
	mkfifo(fifo)
	folder := filepath.Join(dir, "folder")
	if err := os.Mkdir(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	mkfifo(filepath.Join(folder, "pipe.yaml"))
	usesFIFO := filepath.Join(dir, "uses.yml")
	if err := os.WriteFile(usesFIFO, []byte("name: uses\nsteps:\n  - use: {file: fifo.yaml}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		want string
	}{
		{"named pipe", fifo, fifo + ": a named pipe, not a regular file: want a journey YAML file"},
		{"named pipe in a folder", folder, filepath.Join(folder, "pipe.yaml") + ": a named pipe, not a regular file: want a journey YAML file"},
		{"named pipe as a snippet", usesFIFO, usesFIFO + `:3:17: step 1 "use fifo.yaml": use: snippet file "fifo.yaml": a named pipe, not a regular file: want a snippet YAML file`},
		{"device", "/dev/zero", "/dev/zero: a device, not a regular file: want a journey YAML file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := os.Stat(tt.path); err != nil {
				t.Skipf("no %s here: %v", tt.path, err)
			}
			if err := loadQuickly(t, tt.path); err == nil || err.Error() != tt.want {
				t.Errorf("Load error:\n%v\nwant:\n%s", err, tt.want)
			}
		})
	}
}
