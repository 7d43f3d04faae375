package examples

import "embed"

// JourneysFS holds the example journeys, journeys/*.yaml, so `waymark demo`
// can run them from the binary against the demo shop. Treat it as read-only.
//
//go:embed journeys/*.yaml
var JourneysFS embed.FS
