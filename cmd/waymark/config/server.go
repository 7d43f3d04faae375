package config

import "errors"

// Expanded returns s with the ${env:NAME} references (${env:NAME:-default}
// for a default) in its token replaced by the variables getenv finds: the
// token is a secret, which belongs in the environment, not in the file. A
// variable that is not set (or empty) and has no default is an error
// naming server.token and the variable.
func (s Server) Expanded(getenv func(string) (string, bool)) (Server, error) {
	var errs []error
	expand := expander(getenv, &errs)
	out := s
	out.Token = expand("server.token", s.Token)
	if err := errors.Join(errs...); err != nil {
		return Server{}, err
	}
	return out, nil
}
