package expr

import "testing"

// TestHTTPVarNameWithDashes: APISIX's ctx.var reads "http_x-api-key" as
// http_x_api_key (traffic-split3.t TEST 17-20 match on such names).
func TestHTTPVarNameWithDashes(t *testing.T) {
	v := ParseVar("http_X-Api-Appkey")
	if v.Kind != VarHTTP || v.Name != "x_api_appkey" || !HeaderNameMatches([]byte("X-Api-Appkey"), v.Name) {
		t.Fatalf("%+v", v)
	}
	if v := ParseVar("arg_a-b"); v.Name != "a-b" {
		t.Fatalf("arg_ names keep their dashes: %+v", v)
	}
}
