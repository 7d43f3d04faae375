package journeys

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Load reads journey files and folders, parses and validates each and checks
// that names are unique across all of them. A folder contributes every
// *.yaml and *.yml file below it, skipping folders named "snippets" (snippet
// files are not journeys), hidden folders, and files whose name starts with
// "_". A file given by name is always read.
//
// The error is an ErrorList of every problem of every file, sorted by file,
// line and column; a missing path is one of them. The journeys that are
// valid are returned even then, so `waymark validate` can show their
// warnings too.
func Load(paths ...string) ([]*Journey, error) {
	var errs ErrorList
	var files []string
	for _, root := range paths {
		fi, err := os.Stat(root)
		if err != nil {
			errs = append(errs, &Error{File: root, Msg: pathProblem(err)})
			continue
		}
		if !fi.IsDir() {
			files = append(files, root)
			continue
		}
		err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				errs = append(errs, &Error{File: path, Msg: pathProblem(err)})
				return nil
			}
			name := d.Name()
			if d.IsDir() {
				if path != root && (name == "snippets" || strings.HasPrefix(name, ".")) {
					return fs.SkipDir
				}
				return nil
			}
			if ext := filepath.Ext(name); !strings.HasPrefix(name, "_") && (ext == ".yaml" || ext == ".yml") {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			errs = append(errs, &Error{File: root, Msg: fmt.Sprintf("walk folder: %v", err)})
		}
	}

	var out []*Journey
	first := map[string]string{} // journey name -> file that has it
	seen := map[string]bool{}
	for _, f := range files {
		if clean := filepath.Clean(f); seen[clean] {
			continue
		} else {
			seen[clean] = true
		}
		data, err := os.ReadFile(f)
		if err != nil {
			errs = append(errs, &Error{File: f, Msg: pathProblem(err)})
			continue
		}
		j, namePos, ferrs := parseFile(f, data)
		if j.Name != "" {
			if other, dup := first[j.Name]; dup {
				ferrs = append(ferrs, &Error{File: f, Pos: namePos,
					Msg: fmt.Sprintf("name: duplicate journey name %q: %s has it already; names must be unique", j.Name, other)})
			} else {
				first[j.Name] = f
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
	if errors.Is(err, fs.ErrNotExist) {
		return "not found: want a journey file or a folder of them"
	}
	return err.Error()
}
