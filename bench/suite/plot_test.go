package main

import (
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestWritePlots(t *testing.T) {
	base := filepath.Join(t.TempDir(), "history")
	if err := WritePlots(testHistory(), base); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(base + ".png")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	// One row per scenario with data (no-plugin, lua-hook and two sweep points).
	if b := img.Bounds(); b.Dx() < 1000 || b.Dy() < 4*200 {
		t.Errorf("picture is %v", b)
	}
	if st, err := os.Stat(base + ".svg"); err != nil || st.Size() < 1000 {
		t.Errorf("svg: %v", err)
	}
	if err := WritePlots(nil, base); err == nil {
		t.Error("an empty history was plotted")
	}
}

func TestCommitAxis(t *testing.T) {
	h := testHistory()
	// Measured later but committed earlier: still first.
	h[0].Date = h[len(h)-1].Date.Add(1)
	got := commitAxis(h)
	if len(got) != 2 || got[0] != h[0].Commit {
		t.Errorf("axis %v", got)
	}
	if s := scenariosWithData(h); !slices.Equal(s, []string{"conn-sweep-c4000", "conn-sweep-c64", "lua-hook", "no-plugin"}) {
		t.Errorf("scenarios %v", s)
	}
}
