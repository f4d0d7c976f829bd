package all

// The built-in plugins, one package each.
import ()
