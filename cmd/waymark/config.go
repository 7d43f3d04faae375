package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/viper"
)

// config is waymark.yaml. Every key can also be set as WAYMARK_<KEY>, with
// dots as underscores (WAYMARK_BROWSER_PATH). Keys that later features
// read (server, alert, channels, routes, maintenance, retention) are
// accepted now so one file serves every version.
type config struct {
	Database string   `mapstructure:"database"`
	Journeys []string `mapstructure:"journeys"`
	Location string   `mapstructure:"location"`
	Browser  struct {
		Path          string `mapstructure:"path"`
		URL           string `mapstructure:"url"`
		MaxConcurrent int    `mapstructure:"max_concurrent"`
	} `mapstructure:"browser"`
	Server      map[string]any `mapstructure:"server"`
	Alert       map[string]any `mapstructure:"alert"`
	Channels    map[string]any `mapstructure:"channels"`
	Routes      []any          `mapstructure:"routes"`
	Maintenance []any          `mapstructure:"maintenance"`
	Retention   map[string]any `mapstructure:"retention"`
}

// loadConfig reads the config file (explicit path, or ./waymark.yaml when
// present) over the embedded defaults, then the environment.
func loadConfig(path string) (*config, error) {
	v := viper.New()
	v.SetDefault("database", "./waymark.db")
	v.SetDefault("journeys", []string{"./journeys"})
	v.SetDefault("location", "local")
	v.SetDefault("browser.path", "")
	v.SetDefault("browser.url", "")
	v.SetDefault("browser.max_concurrent", 2)
	v.SetEnvPrefix("WAYMARK")
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()
	if path == "" {
		// Look for the file by its exact names: viper's own search would
		// also try to read a file called "waymark" — this very binary.
		for _, p := range []string{"waymark.yaml", "waymark.yml"} {
			if _, err := os.Stat(p); err == nil {
				path = p
				break
			}
		}
	}
	if path != "" {
		v.SetConfigFile(path)
		if err := v.ReadInConfig(); err != nil {
			return nil, fmt.Errorf("read config %s: %w", path, err)
		}
	}
	var c config
	if err := v.UnmarshalExact(&c); err != nil {
		return nil, fmt.Errorf("config %s: %w", describePath(v.ConfigFileUsed()), err)
	}
	if c.Browser.MaxConcurrent < 1 {
		return nil, fmt.Errorf("config %s: browser.max_concurrent must be at least 1, got %d", describePath(v.ConfigFileUsed()), c.Browser.MaxConcurrent)
	}
	return &c, nil
}

func describePath(p string) string {
	if p == "" {
		return "(defaults)"
	}
	return p
}
