package trie

import "testing"

func TestMatchedPath(t *testing.T) {
	for _, tc := range []struct {
		paths []string
		path  string
		mode  Mode
		want  string
	}{
		{[]string{"/a/*"}, "/a/b", HostURI, "/a/*"}, // one path: no work
		{[]string{"/a/*", "/a/b", "/x"}, "/a/b", HostURI, "/a/b"},
		{[]string{"/a/*", "/a/b/*", "/x"}, "/a/b/c", HostURI, "/a/b/*"},
		{[]string{"/a/b/*", "/a/*"}, "/a/c", HostURI, "/a/*"},
		{[]string{"/x", "/y"}, "/z", HostURI, ""},
		{[]string{"/u/:id/x", "/u/*"}, "/u/7/x", URIWithParameter, "/u/:id/x"},
		{[]string{"/u/:id/x", "/u/*"}, "/u/7/y", URIWithParameter, "/u/*"},
	} {
		q := Query{Path: []byte(tc.path), mode: tc.mode}
		if got := q.MatchedPath(tc.paths); got != tc.want {
			t.Errorf("%v %s: %q, want %q", tc.paths, tc.path, got, tc.want)
		}
	}
}

func TestMatchedHost(t *testing.T) {
	for _, tc := range []struct {
		hosts            []string
		host, hostHeader string
		want             string
	}{
		{nil, "a.com", "a.com", ""},
		{[]string{"*.foo.com", "a.foo.com"}, "a.foo.com", "a.foo.com", "a.foo.com"},
		{[]string{"*", "*.foo.com", "*.b.foo.com"}, "a.b.foo.com", "a.b.foo.com", "*.b.foo.com"},
		{[]string{"*", "x.com"}, "y.com", "y.com", "*"},
		{[]string{"a.com:8080", "a.com"}, "a.com", "a.com:8080", "a.com:8080"},
		{[]string{"*.foo.com"}, "foo.com", "foo.com", ""},
	} {
		q := Query{Host: []byte(tc.host), HostHeader: []byte(tc.hostHeader)}
		if got := q.MatchedHost(tc.hosts); got != tc.want {
			t.Errorf("%v %s: %q, want %q", tc.hosts, tc.host, got, tc.want)
		}
	}
}

// TestMatchTellsWhichPathMatched: after Match, the query says which of the
// route's paths and hosts it matched on, read the way that router reads
// them (here with parameters).
func TestMatchTellsWhichPathMatched(t *testing.T) {
	rt := &Route[string]{ID: "1", Paths: []string{"/u/*", "/u/:id/x"}, Hosts: []string{"*.foo.com", "a.foo.com"}, Value: "r"}
	r, err := New(URIWithParameter, []*Route[string]{rt})
	if err != nil {
		t.Fatal(err)
	}
	q := Query{Path: []byte("/u/7/x"), Host: []byte("b.foo.com"), HostHeader: []byte("b.foo.com")}
	if v, ok := r.Match(&q); !ok || v != "r" {
		t.Fatalf("no match: %v %v", v, ok)
	}
	if p, h := q.MatchedPath(rt.Paths), q.MatchedHost(rt.Hosts); p != "/u/:id/x" || h != "*.foo.com" {
		t.Errorf("matched %q on %q, want /u/:id/x on *.foo.com", p, h)
	}
}

// TestMatchedAllocatesNothing: the prometheus plugin asks on every request;
// paths and hosts longer than the runtime's 32-byte conversion buffer must
// not be copied to compare them.
func TestMatchedAllocatesNothing(t *testing.T) {
	host := "a-long-host-name.example-department.example.com"
	path := "/a/long/path/that/is/longer/than/thirty/two/bytes/x"
	q := Query{Path: []byte(path), Host: []byte(host), HostHeader: []byte(host), mode: HostURI}
	paths := []string{"/a/long/path/that/*", "/b/*", path + "y"}
	hosts := []string{"*.example.com", "x.com"}
	if a := testing.AllocsPerRun(100, func() { _, _ = q.MatchedPath(paths), q.MatchedHost(hosts) }); a != 0 {
		t.Fatalf("%v allocations per call, want 0", a)
	}
}
