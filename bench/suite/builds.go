package main

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
)

// source is a tree sluice is built from: the working tree, or a revision
// checked out in a temporary git worktree.
type source struct {
	name    string // "sluice", "base", "new"
	rev     string // as given
	dir     string
	commit  string
	dirty   bool   // the working tree differs from commit
	tags    string // go build -tags
	cleanup func() error
}

// label is how a build appears in tables: short commit and tags.
func (s *source) label() string {
	l := shortCommit(s.commit)
	if s.dirty {
		l += "+dirty"
	}
	if s.tags != "" {
		l += " -tags " + s.tags
	}
	return l
}

// checkout prepares rev for building. "." is the working tree as it is
// (uncommitted changes included); anything else is resolved to a commit and
// checked out, detached, in a new git worktree under work, which cleanup
// removes again.
func checkout(work, name, rev, tags string) (*source, error) {
	root, err := gitOutput(".", "rev-parse", "--show-toplevel")
	if err != nil {
		return nil, err
	}
	root = strings.TrimSpace(root)
	if rev == "." {
		commit, dirty, _, _, err := gitInfo(root)
		if err != nil {
			return nil, err
		}
		return &source{name: name, rev: rev, dir: root, commit: commit, dirty: dirty, tags: tags, cleanup: func() error { return nil }}, nil
	}
	hash, err := gitOutput(root, "rev-parse", "--verify", rev+"^{commit}")
	if err != nil {
		return nil, fmt.Errorf("suite: revision %q: %w", rev, err)
	}
	hash = strings.TrimSpace(hash)
	dir := filepath.Join(work, "src-"+name)
	if _, err := gitOutput(root, "worktree", "add", "--detach", "--quiet", dir, hash); err != nil {
		return nil, err
	}
	cleanup := func() error {
		_, err := gitOutput(root, "worktree", "remove", "--force", dir)
		return err
	}
	return &source{name: name, rev: rev, dir: dir, commit: hash, tags: tags, cleanup: cleanup}, nil
}

// buildSluice compiles cmd/sluice from src into work.
func buildSluice(ctx context.Context, src *source, work string) (*build, error) {
	bin := filepath.Join(work, "bin", "sluice-"+src.name)
	args := []string{"build", "-o", bin}
	if src.tags != "" {
		args = append(args, "-tags", src.tags)
	}
	args = append(args, "./cmd/sluice")
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = src.dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("suite: building sluice at %s: %w: %s", src.label(), err, out)
	}
	return &build{name: src.name, bin: bin, label: src.label()}, nil
}
