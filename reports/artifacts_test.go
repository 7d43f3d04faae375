package reports

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/waymarkhq/waymark/results"
)

func TestWriteArtifacts(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "artifacts")
	shot := func(label string, data string) results.Artifact {
		return results.Artifact{Kind: results.ArtifactScreenshot, Label: label, Data: []byte(data)}
	}
	runA := fixtureRuns()[2] // guest-checkout, screenshot on step 3
	runA.Steps[2].Artifacts = append(runA.Steps[2].Artifacts,
		shot("failure", "second failure shot"),
		results.Artifact{Kind: results.ArtifactDOM, Label: "", Data: []byte("<html></html>")},
		results.Artifact{Kind: results.ArtifactConsole, Label: "console", Hash: "abc"}, // no Data: left alone
	)
	runB := fixtureRuns()[2] // same journey, ID sharing the first 8 characters
	runB.ID = runA.ID[:8] + "ZZZZZZZZZZZZZZZZZZ"
	runB.Steps[0].Name = "../../etc/Passwd ✓"
	runB.Steps[0].Artifacts = []results.Artifact{shot("step", "b1")}
	runB.Steps[2].Artifacts = nil

	if err := WriteArtifacts(dir, []*results.Run{runA, runB}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		a    *results.Artifact
		path string
		data string
	}{
		{&runA.Steps[2].Artifacts[0], "guest-checkout/01jpd4z8/03-assert-text-data-test-cart-badge-failure.jpg", "\xff\xd8jpeg"},
		{&runA.Steps[2].Artifacts[1], "guest-checkout/01jpd4z8/03-assert-text-data-test-cart-badge-failure-2.jpg", "second failure shot"},
		{&runA.Steps[2].Artifacts[2], "guest-checkout/01jpd4z8/03-assert-text-data-test-cart-badge-dom.html", "<html></html>"},
		{&runB.Steps[0].Artifacts[0], "guest-checkout/01jpd4z8zzzzzzzzzzzzzzzzzz/01-etc-passwd-step.jpg", "b1"},
	} {
		want := filepath.Join(dir, tc.path)
		if tc.a.Path != want {
			t.Errorf("Path = %q, want %q", tc.a.Path, want)
			continue
		}
		got, err := os.ReadFile(tc.a.Path)
		if err != nil || string(got) != tc.data {
			t.Errorf("%s holds %q (%v), want %q", tc.a.Path, got, err, tc.data)
		}
	}
	if p := runA.Steps[2].Artifacts[3].Path; p != "" {
		t.Errorf("artifact without data got Path %q", p)
	}

	// A later call with a run whose short ID folder exists uses the full ID.
	runC := fixtureRuns()[2]
	runC.ID = runA.ID[:8] + "CCCC"
	if err := WriteArtifacts(dir, []*results.Run{runC}); err != nil {
		t.Fatal(err)
	}
	if p := runC.Steps[2].Artifacts[0].Path; !strings.Contains(p, string(filepath.Separator)+"01jpd4z8cccc"+string(filepath.Separator)) {
		t.Errorf("second call wrote to %q, want the full-ID folder", p)
	}
}

func TestWriteArtifactsUnwritable(t *testing.T) {
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(file, "artifacts")
	err := WriteArtifacts(dir, fixtureRuns())
	if err == nil || !strings.Contains(err.Error(), dir) {
		t.Fatalf("err = %v, want an error naming %s", err, dir)
	}
}
