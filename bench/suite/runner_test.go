package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// -profile leaves one profile per scenario and build: run's single build
// by the scenario's name, compare's two beside each other.
func TestProfilePath(t *testing.T) {
	for _, tc := range []struct{ build, want string }{
		{targetSluice, "/p/lua-hook.prof"},
		{"base", "/p/lua-hook-base.prof"},
		{"new", "/p/lua-hook-new.prof"},
	} {
		if got := profilePath("/p", "lua-hook", tc.build); got != tc.want {
			t.Errorf("profilePath(%s) = %s, want %s", tc.build, got, tc.want)
		}
	}
	o := commonOptions{profile: filepath.Join(t.TempDir(), "a", "b")}
	dir, err := o.profileDir()
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() || !filepath.IsAbs(dir) {
		t.Errorf("profile dir %q: %v", dir, err)
	}
	if dir, err := (&commonOptions{}).profileDir(); dir != "" || err != nil {
		t.Errorf("no -profile gave %q, %v", dir, err)
	}
}

// A record says what ran beside sluice and whether it was profiled.
func TestSettingsLine(t *testing.T) {
	r := testHistory()[0]
	plain := settingsLine(r)
	r.Settings.Services, r.Settings.CPUProfile = []string{"redis"}, true
	got := settingsLine(r)
	if !strings.HasPrefix(got, plain) || !strings.HasSuffix(got, ", with redis, sluice CPU-profiled") {
		t.Errorf("settings line %q (plain %q)", got, plain)
	}
}
