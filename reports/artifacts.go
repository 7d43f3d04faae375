package reports

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/waymarkhq/waymark/results"
)

// shortIDLen is how much of a run ID names its artifacts folder.
const shortIDLen = 8

// WriteArtifacts writes every artifact that has Data into dir (created if
// needed) as dir/<journey>/<run-id-short>/<NN>-<step-slug>-<label>.<ext>
// and sets its Path. The short run ID is the ID's first 8 characters; when
// another run in this call or an existing folder already has that name
// the full ID is used, and a repeated name within a step gets a -2, -3…
// suffix, so no artifact overwrites another. Artifacts without Data are
// left alone. It stops at the first error, which names the path.
func WriteArtifacts(dir string, runs []*results.Run) error {
	usedRunDirs := map[string]bool{}
	for _, r := range runs {
		runDir, err := artifactRunDir(dir, r, usedRunDirs)
		if err != nil {
			return err
		}
		usedNames := map[string]bool{}
		for i := range r.Steps {
			s := &r.Steps[i]
			for j := range s.Artifacts {
				a := &s.Artifacts[j]
				if len(a.Data) == 0 {
					continue
				}
				path := filepath.Join(runDir, artifactName(s, a, usedNames))
				if err := os.MkdirAll(runDir, 0o755); err != nil {
					return fmt.Errorf("write artifacts: create %s: %w", runDir, err)
				}
				if err := os.WriteFile(path, a.Data, 0o644); err != nil {
					return fmt.Errorf("write artifact %s: %w", path, err)
				}
				a.Path = path
			}
		}
	}
	return nil
}

// artifactRunDir picks the folder of one run's artifacts, unused so far.
func artifactRunDir(dir string, r *results.Run, used map[string]bool) (string, error) {
	journey := slug(r.Journey, 60)
	if journey == "" {
		journey = "journey"
	}
	id := slug(r.ID, 100)
	if id == "" {
		id = "run"
	}
	short := id[:min(len(id), shortIDLen)]
	for _, name := range []string{short, id} {
		d := filepath.Join(dir, journey, name)
		if used[d] {
			continue
		}
		_, err := os.Lstat(d)
		if errors.Is(err, fs.ErrNotExist) || name == id {
			used[d] = true
			return d, nil
		}
		if err != nil {
			return "", fmt.Errorf("write artifacts: check %s: %w", d, err)
		}
	}
	return "", fmt.Errorf("write artifacts: run %s appears twice in %s", r.ID, filepath.Join(dir, journey))
}

// artifactName is a step's artifact file name, unique among used.
func artifactName(s *results.Step, a *results.Artifact, used map[string]bool) string {
	label := slug(a.Label, 30)
	if label == "" {
		label = slug(string(a.Kind), 30)
	}
	base := fmt.Sprintf("%02d-%s", s.Index, joinNonEmpty("-", slug(s.Name, 40), label))
	ext := artifactExt(a.Kind)
	name := base + ext
	for n := 2; used[name]; n++ {
		name = fmt.Sprintf("%s-%d%s", base, n, ext)
	}
	used[name] = true
	return name
}

// artifactExt is the file extension for an artifact kind.
func artifactExt(k results.ArtifactKind) string {
	switch k {
	case results.ArtifactScreenshot:
		return ".jpg"
	case results.ArtifactDOM:
		return ".html"
	case results.ArtifactConsole:
		return ".log"
	case results.ArtifactNetwork:
		return ".json"
	}
	return ".bin"
}

// slug makes s safe and readable as a file name part: lowercase letters
// and digits, runs of anything else as one "-", at most n bytes.
func slug(s string, n int) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(s) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(c)
			dash = false
		} else {
			dash = true
		}
	}
	out := b.String()
	if len(out) > n {
		out = strings.TrimRight(out[:n], "-")
	}
	return out
}
