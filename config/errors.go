package config

import (
	"errors"
	"fmt"
)

// ErrInvalid marks every validation failure; the wrapped message says what is
// wrong in APISIX's words where APISIX has them. The Admin API maps it to 400.
var ErrInvalid = errors.New("invalid configuration")

// ErrUnknownPlugin marks a plugin sluice does not run: what a PluginChecker
// returns for a name it does not know, and what the pipeline's "unknown
// plugin [x]" errors (and the snapshot's fail-closed routes) wrap.
var ErrUnknownPlugin = errors.New("config: unknown plugin")

// invalidError is a validation error whose text is exactly msg, APISIX's
// words without a prefix; it matches ErrInvalid and keeps its cause.
type invalidError struct {
	msg   string
	cause error
}

func (e *invalidError) Error() string        { return e.msg }
func (e *invalidError) Unwrap() error        { return e.cause }
func (e *invalidError) Is(target error) bool { return target == ErrInvalid }

// invalidf returns a validation error whose text is exactly the formatted
// message (the Admin API shows it as is); errors.Is(err, ErrInvalid) holds,
// and errors formatted with %w stay in its chain.
func invalidf(format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	switch err.(type) {
	case interface{ Unwrap() error }, interface{ Unwrap() []error }:
		return &invalidError{msg: err.Error(), cause: err}
	}
	return &invalidError{msg: err.Error()}
}

// UnknownPlugin is the error for a plugin sluice does not run, in APISIX's
// words: "unknown plugin [name]". It matches ErrUnknownPlugin and
// ErrInvalid.
func UnknownPlugin(name string) error {
	return &invalidError{msg: "unknown plugin [" + name + "]", cause: ErrUnknownPlugin}
}

// Message returns the text the Admin API shows for err: an error from this
// package as APISIX words it.
func Message(err error) string {
	var ie *invalidError
	if errors.As(err, &ie) {
		return ie.msg
	}
	return err.Error()
}
