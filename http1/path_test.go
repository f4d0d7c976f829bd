package http1

import "testing"

func TestNormalizePath(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/", "/"},
		{"/a/b", "/a/b"},
		{"/a/b/", "/a/b/"},
		{"//a///b//", "/a/b/"},
		{"/a/./b", "/a/b"},
		{"/a/.", "/a/"},
		{"/a/b/..", "/a/"},
		{"/a/b/../c", "/a/c"},
		{"/a/../../", "error"},
		{"/..", "error"},
		{"/%2e%2e/x", "error"},
		{"/a/%2E%2e/b", "/b"},
		{"/a%2Fb", "/a/b"},
		{"/hello%20world", "/hello world"},
		{"/%zz", "error"},
		{"/%4", "error"},
		{"/%00", "error"},
		{"/.hidden/..x", "/.hidden/..x"},
		{"/a/...", "/a/..."},
	} {
		got, err := NormalizePath([]byte("keep"), []byte(tc.in))
		switch {
		case tc.want == "error":
			if err == nil {
				t.Errorf("%q: got %q, want error", tc.in, got[4:])
			}
		case err != nil:
			t.Errorf("%q: %v", tc.in, err)
		case string(got) != "keep"+tc.want:
			t.Errorf("%q: got %q, want %q", tc.in, got, "keep"+tc.want)
		}
		// The quick check may say yes for a path that comes out unchanged
		// (a copy wasted), never no for one that changes (a wrong route).
		if !PathNeedsNormalizing([]byte(tc.in)) && tc.in != tc.want {
			t.Errorf("%q: PathNeedsNormalizing says no, but the path changes", tc.in)
		}
	}
}
