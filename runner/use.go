package runner

import (
	"fmt"

	"github.com/waymarkhq/waymark/journeys"
	"github.com/waymarkhq/waymark/results"
)

// planned is one step as the runner runs it. A `use` step does not run
// itself: plan puts its snippet's steps in its place, so results list every
// snippet step on its own, numbered 1, 2, 3… with the journey's steps. A
// snippet step's Line is then a line of the snippet file, and its name says
// which file: "snippets/login.yaml › Sign in".
type planned struct {
	step journeys.Step
	use  *journeys.Use // the use step a snippet step comes from, or nil
	last bool          // the last step of its use: the params end after it
}

// plan expands the journey's `use` steps into their snippets' steps.
func plan(steps []journeys.Step) []planned {
	var out []planned
	for i := range steps {
		st := steps[i]
		if st.Action != journeys.ActUse || st.Use == nil {
			out = append(out, planned{step: st})
			continue
		}
		for k, sn := range st.Use.Steps {
			sn.Name = st.Use.File + " › " + sn.Name
			// The use step's own optional and always carry over to its steps.
			sn.Optional = sn.Optional || st.Optional
			sn.Always = sn.Always || st.Always
			out = append(out, planned{step: sn, use: st.Use, last: k == len(st.Use.Steps)-1})
		}
	}
	for i := range out {
		out[i].step.Index = i + 1
	}
	return out
}

// params is what a running use changed in the scope, to undo after it.
type params struct {
	use   *journeys.Use
	saved map[string]string // a journey var or extracted value a param hid
}

// enter sets the params of p's use in the scope before the first of its
// steps that runs, expanding the `with` templates then, so they can read
// values extracted by the journey's earlier steps.
func (x *execution) enter(p *planned) error {
	if p.use == nil || x.params.use == p.use {
		return nil
	}
	x.params = params{use: p.use, saved: map[string]string{}}
	vals := map[string]string{}
	for name, tmpl := range p.use.With {
		v, err := x.scope.Expand(tmpl)
		if err != nil {
			return fmt.Errorf("use %s: with.%s: %w", p.use.File, name, err)
		}
		vals[name] = v
	}
	for name, v := range vals {
		if old, err := x.scope.Expand("${" + name + "}"); err == nil {
			x.params.saved[name] = old
		}
		x.scope.Set(name, v)
	}
	return nil
}

// leave restores, after a use's last step, the values its params hid: a
// snippet's params are its own, while what it extracts stays for the
// journey's later steps.
func (x *execution) leave(p *planned) {
	if !p.last || x.params.use != p.use {
		return
	}
	for name, v := range x.params.saved {
		x.scope.Set(name, v)
	}
	x.params = params{}
}

// refuse records a step that could not start, e.g. because a snippet
// param did not expand: the monitor's problem, not the site's.
func (x *execution) refuse(st *journeys.Step, res *results.Step, err error) {
	res.Status, res.Cause, res.Error = results.StepError, results.CauseMonitor, err.Error()
	if !st.Optional {
		x.failed = true
	}
}
