package engine

// The built-in plugins, for tests that run them through the engine.
import _ "github.com/sluicegw/sluice/plugin/all"
