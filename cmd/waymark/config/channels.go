package config

import (
	"errors"
	"maps"
	"slices"
)

// Expanded returns the channel named name with the ${env:NAME} references
// (${env:NAME:-default} for a default) in its secrets and addresses
// replaced by the variables getenv finds: a webhook's URL or secret, a
// routing key, a password belong in the environment, not in the file. A
// variable that is not set (or empty) and has no default is an error
// naming the setting and the variable.
func (c Channel) Expanded(name string, getenv func(string) (string, bool)) (Channel, error) {
	var errs []error
	env := expander(getenv, &errs)
	expand := func(key, s string) string { return env("channels."+name+"."+key, s) }
	out := c
	for _, f := range []struct {
		key string
		v   *string
	}{
		{"url", &out.URL}, {"secret", &out.Secret}, {"routing_key", &out.RoutingKey}, {"smtp", &out.SMTP},
		{"from", &out.From}, {"username", &out.Username}, {"password", &out.Password}, {"ca_file", &out.CAFile},
	} {
		*f.v = expand(f.key, *f.v)
	}
	out.To = slices.Clone(c.To)
	for i := range out.To {
		out.To[i] = expand("to", c.To[i])
	}
	out.Headers = maps.Clone(c.Headers)
	for _, h := range slices.Sorted(maps.Keys(c.Headers)) {
		out.Headers[h] = expand("headers."+h, c.Headers[h])
	}
	if err := errors.Join(errs...); err != nil {
		return Channel{}, err
	}
	return out, nil
}
