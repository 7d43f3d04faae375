// Package storetest is helpers for tests that need real files and
// databases: read-only paths, directory listings, and PostgreSQL
// databases of their own on the throwaway server `make test` starts.
package storetest

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Listing describes every file and directory under dir, files by size and
// content hash, so that a test can show that something left dir as it was
// by comparing the listings from before and after.
func Listing(t testing.TB, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			files = append(files, path+"/")
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files = append(files, fmt.Sprintf("%s %d bytes %x", path, len(b), sha256.Sum256(b)))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// ReadOnly makes path, a file or a directory, read-only for this process
// until the test ends, to test what happens when it cannot be written.
// Mode bits do that for a user; root ignores them, so as root it sets the
// immutable attribute instead (chattr +i, which needs CAP_LINUX_IMMUTABLE
// and a file system that has the attribute, such as ext4). It skips the
// test when neither works, rather than let it pass for want of a read-only
// path.
func ReadOnly(t testing.TB, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if out, err := exec.Command("chattr", "+i", path).CombinedOutput(); err != nil {
			t.Skipf("cannot make %s read-only as root: chattr +i: %v %s", path, err, out)
		}
		t.Cleanup(func() {
			if out, err := exec.Command("chattr", "-i", path).CombinedOutput(); err != nil {
				t.Errorf("chattr -i %s: %v %s", path, err, out)
			}
		})
	} else {
		mode := os.FileMode(0o444)
		if fi.IsDir() {
			mode = 0o555
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(path, fi.Mode().Perm()) })
	}
	// Prove it took.
	probe := path
	if fi.IsDir() {
		probe = filepath.Join(path, "probe")
	}
	if f, err := os.OpenFile(probe, os.O_RDWR|os.O_CREATE, 0o644); err == nil {
		f.Close()
		os.Remove(probe)
		t.Skipf("cannot make %s read-only here: it can still be written", path)
	}
}
