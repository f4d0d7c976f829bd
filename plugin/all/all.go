package all

// The built-in plugins, one package each.
import (
	_ "github.com/sluicegw/sluice/plugin/basicauth"
	_ "github.com/sluicegw/sluice/plugin/consumerrestriction"
	_ "github.com/sluicegw/sluice/plugin/jwtauth"
	_ "github.com/sluicegw/sluice/plugin/keyauth"
)
