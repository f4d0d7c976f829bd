package main

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// plotMetrics are the columns of the history picture.
var plotMetrics = []string{"rps", "p99_ms", "cpu_us"}

// targetStyle draws each target the same way in every panel: sluice bold
// with its min–max range, the baselines thin (direct dashed: it is the
// ceiling, not a competitor).
var targetStyle = map[string]struct {
	color  color.RGBA
	width  vg.Length
	dashes []vg.Length
}{
	targetSluice:  {color.RGBA{R: 0x1f, G: 0x5f, B: 0xbf, A: 0xff}, 2.2, nil},
	targetNginx:   {color.RGBA{R: 0x2c, G: 0x9c, B: 0x3c, A: 0xff}, 1.2, nil},
	targetHAProxy: {color.RGBA{R: 0xe0, G: 0x80, B: 0x10, A: 0xff}, 1.2, nil},
	targetDirect:  {color.RGBA{R: 0x70, G: 0x70, B: 0x70, A: 0xff}, 1.0, []vg.Length{4, 3}},
}

// commitAxis orders the commits of a history by commit date (then by when
// they were first measured): the x axis of every panel.
func commitAxis(history []*Record) []string {
	type c struct {
		hash       string
		date, seen time.Time
	}
	var cs []c
	for _, r := range history {
		if !slices.ContainsFunc(cs, func(x c) bool { return x.hash == r.Commit }) {
			cs = append(cs, c{r.Commit, r.CommitDate, r.Date})
		}
	}
	slices.SortStableFunc(cs, func(a, b c) int {
		if d := a.date.Compare(b.date); d != 0 {
			return d
		}
		return a.seen.Compare(b.seen)
	})
	out := make([]string, len(cs))
	for i, x := range cs {
		out[i] = x.hash
	}
	return out
}

// scenariosWithData lists the scenarios that have an ok record, sorted.
func scenariosWithData(history []*Record) []string {
	var out []string
	for _, r := range history {
		if r.Status == StatusOK && !slices.Contains(out, r.Scenario) {
			out = append(out, r.Scenario)
		}
	}
	slices.Sort(out)
	return out
}

// buildPlots makes one row of panels per scenario and one column per
// plotMetrics entry. For each commit the newest record of the scenario
// counts.
func buildPlots(history []*Record) ([][]*plot.Plot, error) {
	commits := commitAxis(history)
	// At most ~12 labels per axis (every k-th commit, and the newest), so
	// a long history stays legible; points are drawn for every commit.
	labels := make([]string, len(commits))
	step := (len(commits) + 11) / 12
	for i, c := range commits {
		if i%step == 0 || i == len(commits)-1 {
			labels[i] = shortCommit(c)
		}
	}
	var rows [][]*plot.Plot
	for _, sc := range scenariosWithData(history) {
		byCommit := map[string]*Record{}
		for _, r := range history {
			if r.Scenario == sc && r.Status == StatusOK {
				byCommit[r.Commit] = r // history is oldest first: the newest wins
			}
		}
		var row []*plot.Plot
		for col, key := range plotMetrics {
			m, _ := metricByKey(key)
			p := plot.New()
			p.Title.Text = sc + ": " + m.Label
			p.Title.TextStyle.Font.Size = vg.Points(11)
			p.Y.Label.Text = m.Label
			if m.Unit != "" {
				p.Y.Label.Text = m.Unit
			}
			p.Y.Min = 0
			if key == "rps" {
				p.Y.Tick.Marker = thousands{}
			}
			p.NominalX(labels...)
			p.X.Tick.Label.Font.Size = vg.Points(8)
			if len(labels) > 8 { // slanted, so a long history stays legible
				p.X.Tick.Label.Rotation = math.Pi / 4
				p.X.Tick.Label.XAlign, p.X.Tick.Label.YAlign = draw.XRight, draw.YTop
			}
			p.Add(plotter.NewGrid())
			for _, target := range []string{targetDirect, targetHAProxy, targetNginx, targetSluice} {
				if err := addSeries(p, target, key, commits, byCommit, col == 0); err != nil {
					return nil, err
				}
			}
			p.Legend.Top, p.Legend.Left = false, true
			p.Legend.TextStyle.Font.Size = vg.Points(9)
			p.Legend.ThumbnailWidth = vg.Points(22)
			p.Legend.YOffs = -vg.Points(2)
			row = append(row, p)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// thousands labels req/s ticks as "60k".
type thousands struct{}

func (thousands) Ticks(lo, hi float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = strconv.FormatFloat(ts[i].Value/1000, 'f', -1, 64) + "k"
		}
	}
	return ts
}

// addSeries draws one target's medians across commits (and, for sluice,
// its min–max range as error bars).
func addSeries(p *plot.Plot, target, key string, commits []string, byCommit map[string]*Record, legend bool) error {
	var pts plotter.XYs
	var errs plotter.YErrors
	for i, c := range commits {
		r := byCommit[c]
		if r == nil || r.Targets[target] == nil {
			continue
		}
		t := r.Targets[target]
		v, ok := t.Median[key]
		if !ok {
			continue
		}
		pts = append(pts, plotter.XY{X: float64(i), Y: v})
		errs = append(errs, struct{ Low, High float64 }{v - t.Min[key], t.Max[key] - v})
	}
	if len(pts) == 0 {
		return nil
	}
	st := targetStyle[target]
	line, scatter, err := plotter.NewLinePoints(pts)
	if err != nil {
		return fmt.Errorf("suite: plotting %s: %w", target, err)
	}
	line.Color, line.Width, line.Dashes = st.color, st.width, st.dashes
	scatter.Color, scatter.Radius = st.color, st.width+1.5
	p.Add(line, scatter)
	if target == targetSluice {
		eb, err := plotter.NewYErrorBars(struct {
			plotter.XYs
			plotter.YErrors
		}{pts, errs})
		if err != nil {
			return fmt.Errorf("suite: plotting the range: %w", err)
		}
		eb.Color, eb.LineStyle.Width = st.color, 1
		p.Add(eb)
	}
	if legend {
		p.Legend.Add(target, line, scatter)
	}
	return nil
}

// WritePlots renders the history picture as PNG and SVG (paths without
// extension get both).
func WritePlots(history []*Record, base string) error {
	rows, err := buildPlots(history)
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		return fmt.Errorf("suite: nothing to plot: no ok record in the history")
	}
	w, h := 13*vg.Inch, vg.Length(len(rows))*2.4*vg.Inch+0.3*vg.Inch
	png := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(110))
	drawTiles(draw.New(png), rows)
	if err := writeFile(base+".png", vgimg.PngCanvas{Canvas: png}); err != nil {
		return err
	}
	// Redraw for SVG: a plot's canvas is consumed by Draw.
	rows, err = buildPlots(history)
	if err != nil {
		return err
	}
	svg := vgsvg.New(w, h)
	drawTiles(draw.New(svg), rows)
	return writeFile(base+".svg", svg)
}

func drawTiles(dc draw.Canvas, rows [][]*plot.Plot) {
	t := draw.Tiles{Rows: len(rows), Cols: len(plotMetrics), PadX: 8 * vg.Millimeter, PadY: 6 * vg.Millimeter,
		PadTop: 3 * vg.Millimeter, PadBottom: 2 * vg.Millimeter, PadLeft: 2 * vg.Millimeter, PadRight: 4 * vg.Millimeter}
	canvases := plot.Align(rows, t, dc)
	for i := range rows {
		for j := range rows[i] {
			rows[i][j].Draw(canvases[i][j])
		}
	}
}

func writeFile(path string, c interface {
	WriteTo(w io.Writer) (int64, error)
}) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("suite: writing %s: %w", path, err)
	}
	if _, err := c.WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("suite: writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("suite: writing %s: %w", path, err)
	}
	return nil
}
