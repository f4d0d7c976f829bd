package all

// The built-in plugins, one package each.
import (
	_ "github.com/sluicegw/sluice/plugin/limitconn"
	_ "github.com/sluicegw/sluice/plugin/limitcount"
	_ "github.com/sluicegw/sluice/plugin/limitreq"
)
