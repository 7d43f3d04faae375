package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// TestTerminalLines writes an incident's events and the odd ones to a
// Terminal and checks the log against the golden file.
func TestTerminalLines(t *testing.T) {
	var out bytes.Buffer
	term := NewTerminal(&out)
	escalated := openedEvent()
	escalated.Kind, escalated.Incident.Level = KindEscalated, 2
	multiline := openedEvent()
	multiline.Run.Step.Error = "first line\nsecond\nthird"
	colored := openedEvent()
	colored.Run.Step.Error = "\x1b[31mred\x1b[0m \u202eevil\r"
	colored.Note = "\x1b]0;title\x07"
	events := []Event{openedEvent(), escalated, acknowledgedEvent(), resolvedEvent(),
		monitorDownEvent(), degradedEvent(), multiline, colored, hostileEvent(), TestEvent(at())}
	for _, e := range events {
		rcpt, err := term.Deliver(context.Background(), e)
		if err != nil {
			t.Fatalf("Deliver %s: %v", e.Kind, err)
		}
		if rcpt != (Receipt{}) {
			t.Errorf("receipt = %+v, want none", rcpt)
		}
	}
	if bytes.ContainsAny(out.Bytes(), "\x1b\x07\r\u202e") {
		t.Errorf("the terminal log holds control characters from the page:\n%q", out.String())
	}
	if n := strings.Count(out.String(), "\n"); n != len(events) {
		t.Errorf("%d lines for %d events:\n%s", n, len(events), out.String())
	}
	golden(t, "terminal.golden", out.Bytes())
}

// TestTerminalConcurrent: deliveries from many workers never interleave
// within a line.
func TestTerminalConcurrent(t *testing.T) {
	var out bytes.Buffer
	term := NewTerminal(&out)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := openedEvent()
			e.Incident.Ref = fmt.Sprintf("WM-%d", i)
			if _, err := term.Deliver(context.Background(), e); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	opened := openedEvent()
	want := TerminalLine(&opened)
	_, tail, _ := strings.Cut(want, " WM-12 ")
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 50 {
		t.Fatalf("%d lines, want 50", len(lines))
	}
	for _, l := range lines {
		if !strings.HasSuffix(l, tail) {
			t.Errorf("mangled line %q", l)
		}
	}
}

// failingWriter fails every write.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestTerminalWriteError(t *testing.T) {
	_, err := NewTerminal(failingWriter{}).Deliver(context.Background(), openedEvent())
	var de *DeliveryError
	if !errors.As(err, &de) || de.Temporary || !strings.Contains(err.Error(), "broken pipe") {
		t.Errorf("Deliver to a broken writer = %v, want a final error saying why", err)
	}
}
