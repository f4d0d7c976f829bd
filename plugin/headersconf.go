package plugin

// IsHeaderOpsConf reports whether a rewrite plugin's headers conf is in
// the {add, set, remove} form, one of the three being a table
// (is_new_headers_conf in both proxy-rewrite.lua and response-rewrite.lua),
// rather than the older map of field names to values. What each form
// means is the plugin's: the two plugins read them differently.
func IsHeaderOpsConf(headers map[string]any) bool {
	for _, k := range []string{"add", "set", "remove"} {
		switch headers[k].(type) {
		case map[string]any, []any:
			return true
		}
	}
	return false
}

// ValidHeaderField is core.utils.validate_header_field, which both rewrite
// plugins' checks call on header names: every byte visible ASCII other
// than ':' (so "" passes).
func ValidHeaderField(f string) bool {
	for i := 0; i < len(f); i++ {
		if b := f[i]; b <= 32 || b >= 127 || b == ':' {
			return false
		}
	}
	return true
}
