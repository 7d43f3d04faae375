package notify

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestSlackMessages posts events to a real receiver standing in for
// Slack's incoming webhook and checks the Block Kit bodies against the
// golden files.
func TestSlackMessages(t *testing.T) {
	noShot := openedEvent()
	noShot.Links.Screenshot = ""
	cases := []struct {
		golden string
		event  Event
		image  bool
	}{
		{"slack_opened.json", openedEvent(), true},
		{"slack_opened_no_screenshot.json", noShot, false},
		{"slack_acknowledged.json", acknowledgedEvent(), true},
		{"slack_resolved.json", resolvedEvent(), false},
		{"slack_degraded.json", degradedEvent(), false},
		{"slack_hostile.json", hostileEvent(), false},
	}
	for _, tc := range cases {
		t.Run(tc.golden, func(t *testing.T) {
			rc := newReceiver(t, nil) // Slack answers 200 "ok"
			ch, err := NewSlack(SlackSettings{URL: rc.URL + secretPath})
			if err != nil {
				t.Fatal(err)
			}
			rcpt, err := ch.Deliver(context.Background(), tc.event)
			if err != nil {
				t.Fatalf("Deliver: %v", err)
			}
			if rcpt.Status != http.StatusOK || rcpt.Body != "ok" {
				t.Errorf("receipt = %+v, want 200 ok", rcpt)
			}
			req := rc.only(t)
			if req.Method != http.MethodPost || req.Path != secretPath || req.Header.Get("Content-Type") != "application/json" {
				t.Errorf("got %s %s (%s)", req.Method, req.Path, req.Header.Get("Content-Type"))
			}
			var m SlackMessage
			if err := json.Unmarshal(req.Body, &m); err != nil {
				t.Fatalf("body is not a Slack message: %v", err)
			}
			if want := slackEscape(tc.event.Subject()); m.Text != want {
				t.Errorf("fallback text = %q, want %q", m.Text, want)
			}
			if m.Blocks[0].Type != "header" || !strings.Contains(m.Blocks[0].Text.Text, tc.event.Incident.Ref) {
				t.Errorf("first block = %+v, want a header with the reference", m.Blocks[0])
			}
			var image bool
			for _, b := range m.Blocks {
				if len(b.Fields) > slackFieldsMax {
					t.Errorf("a section has %d fields; Slack takes at most %d", len(b.Fields), slackFieldsMax)
				}
				if b.Type == "image" {
					image = true
					if b.ImageURL != tc.event.Links.Screenshot || b.AltText == "" {
						t.Errorf("image block = %+v", b)
					}
				}
			}
			if image != tc.image {
				t.Errorf("image block present = %v, want %v", image, tc.image)
			}
			goldenJSON(t, tc.golden, req.Body)
		})
	}
}

// TestSlackEscaping checks that page text cannot mention, link or break
// out of a code block in Slack.
func TestSlackEscaping(t *testing.T) {
	e := hostileEvent()
	b, err := json.Marshal(SlackMessageOf(&e))
	if err != nil {
		t.Fatal(err)
	}
	var m SlackMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	all.WriteString(m.Text)
	for _, b := range m.Blocks {
		if b.Text != nil && b.Text.Type == "mrkdwn" {
			all.WriteString("\n" + b.Text.Text)
		}
		for _, f := range append(b.Fields, b.Elements...) {
			all.WriteString("\n" + f.Text)
		}
	}
	text := all.String()
	for _, bad := range []string{"<!channel>", "<https://evil", "<script>", "<b>", " & "} {
		if strings.Contains(text, bad) {
			t.Errorf("Slack text holds %q unescaped:\n%s", bad, text)
		}
	}
	for _, good := range []string{"&lt;!channel&gt;", "&lt;https://evil.example.com|click me&gt;", "&lt;script&gt;", " &amp; "} {
		if !strings.Contains(text, good) {
			t.Errorf("Slack text lacks %q:\n%s", good, text)
		}
	}
	// The error's own ``` cannot close the code block it is shown in.
	for _, b := range m.Blocks {
		if b.Text == nil || !strings.HasPrefix(b.Text.Text, "*Error*") {
			continue
		}
		code := strings.TrimPrefix(b.Text.Text, "*Error*\n")
		inner := strings.TrimSuffix(strings.TrimPrefix(code, "```"), "```")
		if strings.Contains(inner, "```") {
			t.Errorf("the error closes its code block early: %q", code)
		}
	}
}

func TestSlackCode(t *testing.T) {
	cases := []struct{ in, want string }{
		{"plain", "```plain```"},
		{"a ``` b", "```a `\u200b`\u200b`\u200b b```"},
		{"`start", "```\u200b`\u200bstart```"},
		{"<x> & y", "```&lt;x&gt; &amp; y```"},
	}
	for _, tc := range cases {
		if got := slackCode(tc.in); got != tc.want {
			t.Errorf("slackCode(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
