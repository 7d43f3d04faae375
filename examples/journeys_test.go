package examples

import (
	"io/fs"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/waymarkhq/waymark/journeys"
)

// TestJourneysParse checks the embedded example journeys against the
// journey format's parser and validator.
func TestJourneysParse(t *testing.T) {
	files, err := fs.Glob(JourneysFS, "journeys/*.yaml")
	if err != nil || len(files) != 3 {
		t.Fatalf("embedded journeys = %v, %v; want the three examples", files, err)
	}
	for _, file := range files {
		data, err := fs.ReadFile(JourneysFS, file)
		if err != nil {
			t.Fatal(err)
		}
		j, err := journeys.Parse(file, data)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		for _, w := range j.Warnings {
			t.Errorf("warning: %v", w)
		}
		if j.Name+".yaml" != strings.TrimPrefix(file, "journeys/") || j.Schedule != "@every 5m" || j.Owner == "" || len(j.Tags) == 0 || j.Thresholds.Fail == 0 {
			t.Errorf("%s: name %q, schedule %q, owner %q, tags %v, thresholds %v: want the file's name, @every 5m, an owner, tags and thresholds",
				file, j.Name, j.Schedule, j.Owner, j.Tags, j.Thresholds)
		}
	}
}

// TestJourneyHooksExist checks that every data-test hook the example
// journeys name is on one of the pages they visit, so renaming a hook in a
// template cannot silently break them.
func TestJourneyHooksExist(t *testing.T) {
	_, srv := startShop(t, Options{})
	v := newVisitor(t, srv)
	var pages strings.Builder
	keep := func(a answer) {
		if a.status != http.StatusOK {
			t.Fatalf("%s: status %d", a.path, a.status)
		}
		pages.WriteString(a.body)
	}
	keep(v.get("/"))
	keep(v.get("/search?q=light"))
	keep(v.get("/product/bike-light"))
	keep(v.get("/login"))
	keep(v.post("/login", url.Values{"email": {"ada@example.com"}, "password": {"lovelace"}}))
	v.add("bike-light", 2)
	keep(v.get("/cart"))
	keep(v.get("/checkout"))
	keep(v.post("/checkout", goodAddress()))
	keep(v.post("/payment", goodCard()))
	keep(v.get("/cart"))

	hookRe := regexp.MustCompile(`\[data-test(\^?)=([a-z0-9-]+)\]`)
	for _, file := range []string{"guest-checkout.yaml", "signed-in-checkout.yaml", "search-and-add.yaml"} {
		data, err := fs.ReadFile(JourneysFS, "journeys/"+file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range hookRe.FindAllStringSubmatch(string(data), -1) {
			want := `data-test="` + m[2]
			if m[1] == "" {
				want += `"`
			}
			if !strings.Contains(pages.String(), want) {
				t.Errorf("%s uses %s, which no page renders", file, m[0])
			}
		}
	}
}
