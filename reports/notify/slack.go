package notify

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/waymarkhq/waymark/results"
)

// Slack's limits on a message (Block Kit); texts past them are cut before
// Slack would refuse the whole message.
const (
	slackHeaderMax   = 150 // a header block's text
	slackFieldsMax   = 10  // fields of one section
	slackFieldMax    = 300 // our cut of a field's text (Slack allows 2000)
	slackCodeMax     = 1500
	slackSectionMax  = 3000
	slackFallbackMax = 1000
)

// SlackSettings configure a Slack channel.
type SlackSettings struct {
	// URL is the incoming webhook's URL (https://hooks.slack.com/…). It is
	// a secret: errors show only its host.
	URL string
	// Timeout cuts each attempt; DefaultTimeout when zero.
	Timeout time.Duration
}

// Slack posts events to a Slack incoming webhook as a Block Kit message: a
// header with the severity's symbol, the reference and the journey
// (📈 Forecast and the journey for a forecast); what happened; the failing step, its cause, error, expected and actual
// values and the other facts; the failure screenshot as an image when
// there is a public URL for it; links to the run and the incident; and a
// plain text fallback for notifications. Text from pages, journey files
// and people is escaped for Slack's mrkdwn (&, <, >), so a page cannot
// mention @channel or make a link. Any 2xx answer is a success (Slack
// says "ok").
type Slack struct {
	http *httpSender
}

// NewSlack checks the settings and makes the channel.
func NewSlack(s SlackSettings) (*Slack, error) {
	if err := checkURL("slack url", s.URL); err != nil {
		return nil, err
	}
	timeout, err := timeoutOr(s.Timeout)
	if err != nil {
		return nil, fmt.Errorf("slack %w", err)
	}
	return &Slack{http: newHTTPSender(http.MethodPost, s.URL, timeout)}, nil
}

// Deliver posts e once.
func (s *Slack) Deliver(ctx context.Context, e Event) (Receipt, error) {
	if err := e.validate(); err != nil {
		return Receipt{}, permanent(fmt.Errorf("slack: %w", err))
	}
	body, err := marshal(SlackMessageOf(&e))
	if err != nil {
		return Receipt{}, permanent(fmt.Errorf("slack: encode %s event of %s: %w", e.Kind, e.about(), err))
	}
	resp, answer, err := s.http.send(ctx, http.Header{"Content-Type": {"application/json"}}, body)
	if err != nil {
		return Receipt{}, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return Receipt{}, statusError(s.http.what, resp, answer, s.http.now())
	}
	return Receipt{Status: resp.StatusCode, Body: snippet(answer)}, nil
}

// SlackMessage is the JSON body of an incoming webhook call.
type SlackMessage struct {
	// Text is the fallback shown in notifications and where blocks are not.
	Text   string       `json:"text"`
	Blocks []SlackBlock `json:"blocks"`
}

// SlackBlock is one Block Kit block: header, section, image or context.
type SlackBlock struct {
	Type     string      `json:"type"`
	Text     *SlackText  `json:"text,omitempty"`
	Fields   []SlackText `json:"fields,omitempty"`
	ImageURL string      `json:"image_url,omitempty"`
	AltText  string      `json:"alt_text,omitempty"`
	Title    *SlackText  `json:"title,omitempty"`
	Elements []SlackText `json:"elements,omitempty"`
}

// SlackText is a Block Kit text object, plain_text or mrkdwn.
type SlackText struct {
	Type  string `json:"type"`
	Text  string `json:"text"`
	Emoji bool   `json:"emoji,omitempty"`
}

// SlackMessageOf is the Slack message for e.
func SlackMessageOf(e *Event) SlackMessage {
	m := SlackMessage{Text: results.Clip(slackEscape(e.Subject()), slackFallbackMax)}
	ref := oneLine(e.Incident.Ref, 40)
	if e.Kind == KindForecast {
		ref = "Forecast"
	}
	header := symbol(e) + " " + ref + " · " + oneLine(e.Journey.title(), 100)
	m.Blocks = append(m.Blocks, SlackBlock{Type: "header",
		Text: &SlackText{Type: "plain_text", Text: results.Clip(header, slackHeaderMax-20), Emoji: true}})

	lead := "*" + slackEscape(capitalize(e.verb())) + "*"
	if w := e.what(); w != "" {
		lead += " — " + slackEscape(w)
	}
	if e.Kind == KindForecast && e.Forecast != nil {
		lead += " — " + slackEscape(e.forecastText())
	}
	if e.Note != "" {
		lead += "\n" + slackQuote(results.Clip(printable(e.Note), slackCodeMax))
	}
	m.Blocks = append(m.Blocks, mrkdwnSection(lead))

	var fields []SlackText
	var code []string
	for _, f := range e.facts() {
		if f.Code {
			code = append(code, "*"+f.Label+"*\n"+slackCode(results.Clip(printable(f.Value), slackCodeMax/2)))
			continue
		}
		fields = append(fields, SlackText{Type: "mrkdwn",
			Text: "*" + f.Label + "*\n" + slackEscape(results.Clip(oneLine(f.Value, slackFieldMax), slackFieldMax))})
	}
	for len(fields) > 0 {
		n := min(len(fields), slackFieldsMax)
		m.Blocks = append(m.Blocks, SlackBlock{Type: "section", Fields: fields[:n]})
		fields = fields[n:]
	}
	for _, c := range code {
		m.Blocks = append(m.Blocks, mrkdwnSection(c))
	}

	l := e.Links
	if l.Screenshot != "" {
		alt := "Screenshot of the failing page"
		if r := e.Run; r != nil && r.Step.Number > 0 {
			alt = fmt.Sprintf("Screenshot of step %d %s", r.Step.Number, oneLine(r.Step.Name, maxSummaryPart))
		}
		m.Blocks = append(m.Blocks, SlackBlock{Type: "image", ImageURL: l.Screenshot, AltText: alt,
			Title: &SlackText{Type: "plain_text", Text: results.Clip(alt, slackHeaderMax-20)}})
	}
	var links []string
	for _, link := range []struct{ label, url string }{{"Run", l.Run}, {"Screenshot", l.Screenshot}, {"Incident", l.Incident}, {"Journey", l.Journey}} {
		if link.url != "" {
			links = append(links, "<"+slackLinkURL(link.url)+"|"+link.label+">")
		}
	}
	if len(links) > 0 {
		m.Blocks = append(m.Blocks, SlackBlock{Type: "context",
			Elements: []SlackText{{Type: "mrkdwn", Text: strings.Join(links, " · ")}}})
	}
	return m
}

// mrkdwnSection is a section of one mrkdwn text, cut to Slack's limit.
func mrkdwnSection(text string) SlackBlock {
	return SlackBlock{Type: "section", Text: &SlackText{Type: "mrkdwn", Text: results.Clip(text, slackSectionMax-20)}}
}

// symbol is the header's sign for the event: the incident's severity
// while it is open, a check mark when it ends.
func symbol(e *Event) string {
	switch {
	case e.Kind == KindResolved || e.Kind == KindMonitorUp:
		return "✅"
	case e.Kind == KindTest:
		return "🧪"
	case e.Kind == KindForecast:
		return "📈"
	case e.Incident.Severity == results.SeverityCritical:
		return "🔴"
	case e.Incident.Severity == results.SeverityWarning:
		return "🟠"
	}
	return "⚪"
}

// capitalize makes the first letter of s upper case (s is ASCII here).
func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// slackEscape escapes Slack's mrkdwn control characters, as Slack asks:
// & as &amp;, < as &lt; and > as &gt;, so text cannot form a link, a
// mention (<!channel>) or a user reference.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// slackCode is s escaped in a code block, where Slack formats nothing:
// backticks inside are followed by a zero-width space, so s cannot close
// the block early, and it starts with one when s starts with a backtick.
func slackCode(s string) string {
	s = slackEscape(strings.ReplaceAll(s, "`", "`\u200b"))
	if strings.HasPrefix(s, "`") {
		s = "\u200b" + s
	}
	return "```" + s + "```"
}

// slackQuote is a person's note as a mrkdwn block quote, escaped (s has
// been made printable).
func slackQuote(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = "> " + slackEscape(strings.TrimRight(l, "\r"))
	}
	return strings.Join(lines, "\n")
}

// slackLinkURL is a URL fit for Slack's <url|label> form: escaped, with a
// "|" percent-encoded so it cannot end the URL early.
func slackLinkURL(u string) string {
	return slackEscape(strings.ReplaceAll(u, "|", "%7C"))
}
