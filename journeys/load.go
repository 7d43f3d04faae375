package journeys

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// MaxFileSize is the largest journey or snippet file that is read: 1 MB,
// far more than any journey written by hand, and little enough that a
// wrong path (a log file, a disk image, /dev/zero) is refused at once
// instead of being read into memory. A bigger file is refused by its size
// before it is opened.
const MaxFileSize = 1 << 20

// Load reads journey files and folders, parses and validates each and checks
// that names are unique across all of them. A folder contributes every
// *.yaml and *.yml file below it, skipping folders named "snippets" (snippet
// files are not journeys), hidden folders, and files whose name starts with
// "_". A file given by name is always read. Only regular files of at most
// MaxFileSize are read: a named pipe, a device or a bigger file is an error,
// reported without waiting on it or reading it.
//
// The error is an ErrorList of every problem of every file, sorted by file,
// line and column; a missing path is one of them. The journeys that are
// valid are returned even then, so `waymark validate` can show their
// warnings too.
func Load(paths ...string) ([]*Journey, error) {
	return load(files{}, paths)
}

// LoadFS loads every journey in fsys as Load loads a folder, with the same
// rules and errors; snippets that the journeys `use` are read from fsys
// too, and must be in it. Errors and Journey.File name a file prefix/name,
// so that journeys built into the binary read like the files they came
// from: LoadFS(examples.JourneysFS, "examples") names
// examples/journeys/guest-checkout.yaml. An `upload` path is checked in
// fsys, and its Field.Value is the prefixed name.
func LoadFS(fsys fs.FS, prefix string) ([]*Journey, error) {
	return load(files{fsys: fsys, prefix: prefix}, []string{"."})
}

// WithTags returns the journeys that carry at least one of tags, in their
// order, so that a run can be limited to part of a suite (`waymark run
// --tag`). With no tags it returns js itself: every journey.
func WithTags(js []*Journey, tags ...string) []*Journey {
	if len(tags) == 0 {
		return js
	}
	var out []*Journey
	for _, j := range js {
		if slices.ContainsFunc(tags, func(t string) bool { return slices.Contains(j.Tags, t) }) {
			out = append(out, j)
		}
	}
	return out
}

// load is Load and LoadFS: it reads the journeys at roots in src.
func load(src files, roots []string) ([]*Journey, error) {
	var errs ErrorList
	var names []string
	for _, root := range roots {
		fi, err := src.stat(root)
		if err != nil {
			errs = append(errs, &Error{File: src.display(root), Msg: pathProblem(err)})
			continue
		}
		if !fi.IsDir() {
			names = append(names, root)
			continue
		}
		err = src.walk(root, func(name string, d fs.DirEntry, err error) error {
			if err != nil {
				errs = append(errs, &Error{File: src.display(name), Msg: pathProblem(err)})
				return nil
			}
			base := d.Name()
			if d.IsDir() {
				if name != root && (base == "snippets" || strings.HasPrefix(base, ".")) {
					return fs.SkipDir
				}
				return nil
			}
			if ext := path.Ext(base); !strings.HasPrefix(base, "_") && (ext == ".yaml" || ext == ".yml") {
				names = append(names, name)
			}
			return nil
		})
		if err != nil {
			errs = append(errs, &Error{File: src.display(root), Msg: fmt.Sprintf("walk folder: %v", err)})
		}
	}

	var out []*Journey
	first := map[string]string{} // journey name -> file that has it
	seen := map[string]bool{}
	for _, name := range names {
		if clean := src.clean(name); seen[clean] {
			continue
		} else {
			seen[clean] = true
		}
		data, err := src.read(name, "journey")
		if err != nil {
			errs = append(errs, &Error{File: src.display(name), Msg: pathProblem(err)})
			continue
		}
		j, namePos, ferrs := parseFile(src, name, data)
		if j.Name != "" {
			if other, dup := first[j.Name]; dup {
				ferrs = append(ferrs, &Error{File: j.File, Pos: namePos,
					Msg: fmt.Sprintf("name: duplicate journey name %q: %s has it already; names must be unique", j.Name, other)})
			} else {
				first[j.Name] = j.File
			}
		}
		if len(ferrs) > 0 {
			errs = append(errs, ferrs...)
			continue
		}
		out = append(out, j)
	}
	return out, errs.err()
}

// pathProblem says what is wrong with a path the user gave.
func pathProblem(err error) string {
	var pe *fs.PathError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "not found: want a journey file or a folder of them"
	case errors.As(err, &pe):
		return "cannot read: " + pe.Err.Error()
	}
	return err.Error()
}

// files is where journey and snippet files are read from: the operating
// system's files by path (Load, Parse), or the files of an fs.FS by name
// (LoadFS). Everything else (which files a folder holds, how much of a
// file is read, where `use` and `upload` paths lead) is the same for both.
type files struct {
	fsys   fs.FS  // nil: the operating system
	prefix string // with fsys: put before names in what users see
}

// stat describes the file name, following symbolic links.
func (src files) stat(name string) (fs.FileInfo, error) {
	if src.fsys == nil {
		return os.Stat(name)
	}
	return fs.Stat(src.fsys, name)
}

// open opens name for reading. A file of the operating system is opened
// without blocking, so that a named pipe put in the place of a file after
// stat looked at it cannot make open wait for a writer; read then refuses
// it.
func (src files) open(name string) (fs.File, error) {
	if src.fsys == nil {
		return os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	}
	return src.fsys.Open(name)
}

// walk walks the folder root as filepath.WalkDir or fs.WalkDir does.
func (src files) walk(root string, fn fs.WalkDirFunc) error {
	if src.fsys == nil {
		return filepath.WalkDir(root, fn)
	}
	return fs.WalkDir(src.fsys, root, fn)
}

// dir is the folder of name.
func (src files) dir(name string) string {
	if src.fsys == nil {
		return filepath.Dir(name)
	}
	return path.Dir(name)
}

// clean gives one name for one file, so that it is read once.
func (src files) clean(name string) string {
	if src.fsys == nil {
		return filepath.Clean(name)
	}
	return path.Clean(name)
}

// resolve finds the path rel, written in a journey or snippet file, from
// the folder dir. In an fs.FS, a path that leaves it (absolute, or with
// too many ..) is not there: ok is false.
func (src files) resolve(dir, rel string) (name string, ok bool) {
	if src.fsys == nil {
		if filepath.IsAbs(rel) {
			return rel, true
		}
		return filepath.Join(dir, rel), true
	}
	name = path.Join(dir, rel)
	return name, !path.IsAbs(rel) && fs.ValidPath(name)
}

// display is name as users see it: in errors and Journey.File.
func (src files) display(name string) string {
	if src.fsys == nil || src.prefix == "" {
		return name
	}
	return path.Join(src.prefix, name)
}

// read returns the content of the regular file name. It refuses anything
// else (a folder, a named pipe, a device, a socket) and a file over
// MaxFileSize, looking before it opens and again at what it opened, and
// never reads more than MaxFileSize+1 bytes. kind ("journey" or
// "snippet") names the file in messages.
func (src files) read(name, kind string) ([]byte, error) {
	fi, err := src.stat(name)
	if err != nil {
		return nil, err
	}
	if err := checkFile(fi, kind); err != nil {
		return nil, err
	}
	f, err := src.open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil {
		return nil, err
	}
	if err := checkFile(fi, kind); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileSize { // it grew, or its size was not known (as in /proc)
		return nil, tooLarge(kind, max(fi.Size(), int64(len(data))))
	}
	return data, nil
}

// checkFile refuses anything but a regular file of at most MaxFileSize.
func checkFile(fi fs.FileInfo, kind string) error {
	what := ""
	switch m := fi.Mode(); {
	case m.IsRegular():
		if fi.Size() > MaxFileSize {
			return tooLarge(kind, fi.Size())
		}
		return nil
	case m.IsDir():
		what = "a folder, "
	case m&fs.ModeNamedPipe != 0:
		what = "a named pipe, "
	case m&fs.ModeSocket != 0:
		what = "a socket, "
	case m&fs.ModeDevice != 0:
		what = "a device, "
	}
	return fmt.Errorf("%snot a regular file: want a %s YAML file", what, kind)
}

// tooLarge says that a file of size bytes is over MaxFileSize.
func tooLarge(kind string, size int64) error {
	const mb, gb = 1 << 20, 1 << 30
	limit := fmt.Sprintf("%s files are limited to %d MB", kind, MaxFileSize/mb)
	switch {
	case size >= gb:
		return fmt.Errorf("%s; this one is %.1f GB", limit, float64(size)/gb)
	case size >= MaxFileSize+mb/10:
		return fmt.Errorf("%s; this one is %.1f MB", limit, float64(size)/mb)
	}
	return fmt.Errorf("%s (%d bytes); this one is %d bytes", limit, MaxFileSize, size)
}
