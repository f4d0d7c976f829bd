package plugin

// Phase is a request phase, in the order a request passes through them.
type Phase uint8

// Phases, as APISIX names them.
const (
	Rewrite Phase = iota
	Access
	BeforeProxy
	HeaderFilter
	BodyFilter
	Log
	NumPhases
)

var phaseNames = [NumPhases]string{"rewrite", "access", "before_proxy", "header_filter", "body_filter", "log"}

func (p Phase) String() string {
	if p < NumPhases {
		return phaseNames[p]
	}
	return "invalid"
}

// Context is the request as hooks see it. The engine implements it; the
// plugin issue grows its methods (headers, variables, early responses).
type Context interface{}

// Hook is one plugin's code for one phase. A positive return status ends the
// request with that status (rewrite, access and before_proxy only); zero
// continues.
type Hook func(ctx Context) (status int)

// Chain holds the hooks to run per phase, already in run order (global
// rules first, then by descending plugin priority). The zero Chain and a nil
// *Chain run nothing.
type Chain struct {
	hooks [NumPhases][]Hook
}

// Add appends h to phase p; only used while building, before publication.
func (c *Chain) Add(p Phase, h Hook) { c.hooks[p] = append(c.hooks[p], h) }

// Has reports whether any hook runs in phase p.
func (c *Chain) Has(p Phase) bool { return c != nil && len(c.hooks[p]) > 0 }

// Run runs phase p's hooks in order and returns the first positive status a
// hook returned (which stops the phase), or 0.
func (c *Chain) Run(p Phase, ctx Context) int {
	if c == nil {
		return 0
	}
	for _, h := range c.hooks[p] {
		if st := h(ctx); st > 0 {
			return st
		}
	}
	return 0
}
