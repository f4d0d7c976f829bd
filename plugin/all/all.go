package all

// The built-in plugins, one package each.
import (
	_ "github.com/sluicegw/sluice/plugin/basicauth"
	_ "github.com/sluicegw/sluice/plugin/consumerrestriction"
	_ "github.com/sluicegw/sluice/plugin/cors"
	_ "github.com/sluicegw/sluice/plugin/faultinjection"
	_ "github.com/sluicegw/sluice/plugin/gzip"
	_ "github.com/sluicegw/sluice/plugin/iprestriction"
	_ "github.com/sluicegw/sluice/plugin/jwtauth"
	_ "github.com/sluicegw/sluice/plugin/keyauth"
	_ "github.com/sluicegw/sluice/plugin/limitconn"
	_ "github.com/sluicegw/sluice/plugin/limitcount"
	_ "github.com/sluicegw/sluice/plugin/limitreq"
	_ "github.com/sluicegw/sluice/plugin/prometheus"
	_ "github.com/sluicegw/sluice/plugin/proxyrewrite"
	_ "github.com/sluicegw/sluice/plugin/realip"
	_ "github.com/sluicegw/sluice/plugin/redirect"
	_ "github.com/sluicegw/sluice/plugin/requestid"
	_ "github.com/sluicegw/sluice/plugin/responserewrite"
	_ "github.com/sluicegw/sluice/plugin/serverless"
	_ "github.com/sluicegw/sluice/plugin/trafficsplit"
)
