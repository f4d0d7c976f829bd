package config

import "errors"

// ErrInvalid marks every validation failure; the wrapped message says what is
// wrong in APISIX's words where APISIX has them. The Admin API maps it to 400.
var ErrInvalid = errors.New("invalid configuration")
