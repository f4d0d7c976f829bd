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

// ParsePhase decodes a phase name (serverless functions' "phase").
func ParsePhase(s string) (Phase, bool) {
	for i, n := range phaseNames {
		if n == s {
			return Phase(i), true
		}
	}
	return 0, false
}
