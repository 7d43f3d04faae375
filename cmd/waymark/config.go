package main

import (
	"os"

	"github.com/waymarkhq/waymark/cmd/waymark/config"
)

// loadConfig reads --config (or ./waymark.yaml when present) over the
// embedded defaults, with the WAYMARK_* variables over both; see package
// config.
func (a *app) loadConfig() (*config.Config, error) {
	return config.Load(a.configPath, a.configEnv)
}

// configEnv looks a WAYMARK_* variable up in the command's environment,
// then in the process's: config has always come from the process
// environment, also when tests give a command a fixed one.
func (a *app) configEnv(name string) (string, bool) {
	if v, ok := a.getenv(name); ok {
		return v, true
	}
	return os.LookupEnv(name)
}
