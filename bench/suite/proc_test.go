package main

import "testing"

func TestParseStatCPU(t *testing.T) {
	// A command name with spaces and parentheses; utime 250, stime 50 ticks.
	line := "4242 (we ird) (name) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 100 1000 200 18446744073709551615\n"
	got, err := parseStatCPU([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if got != 3.0 {
		t.Errorf("cpu seconds %v, want 3", got)
	}
	if _, err := parseStatCPU([]byte("1 (x) S 1 2")); err == nil {
		t.Error("short line accepted")
	}
}

func TestParseStatusMemory(t *testing.T) {
	status := "Name:\tsluice\nVmHWM:\t   30720 kB\nVmRSS:\t   25600 kB\nThreads:\t5\n"
	rss, peak, err := parseStatusMemory([]byte(status))
	if err != nil {
		t.Fatal(err)
	}
	if rss != 25 || peak != 30 {
		t.Errorf("rss %v peak %v", rss, peak)
	}
	if _, _, err := parseStatusMemory([]byte("Name:\tx\n")); err == nil {
		t.Error("status without VmRSS accepted")
	}
}

func TestParseStubStatus(t *testing.T) {
	n, err := parseStubStatus("Active connections: 3 \nserver accepts handled requests\n 1616 1616 31337 \nReading: 0 Writing: 1 Waiting: 2 \n")
	if err != nil || n != 1616 {
		t.Errorf("accepts %d, %v", n, err)
	}
	if _, err := parseStubStatus("nothing"); err == nil {
		t.Error("garbage accepted")
	}
}

func TestGroupThousands(t *testing.T) {
	for in, want := range map[string]string{"1": "1", "1000": "1,000", "63571": "63,571", "1234567.5": "1,234,567.5", "-1000": "-1,000"} {
		if got := groupThousands(in); got != want {
			t.Errorf("groupThousands(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseCPUTimes(t *testing.T) {
	stat := []byte("cpu  10 0 10 100 0 0 0 0 0 0\ncpu0 5 0 5 50 0 0 0 0 0 0\ncpu1 7 1 2 40 10 3 2 5 4 0\nintr 1 2\n")
	got, err := parseCPUTimes(stat, 1)
	if err != nil {
		t.Fatal(err)
	}
	// busy: user 7 + nice 1 + system 2 + irq 3 + softirq 2 + steal 5; idle 40 and iowait 10 are not; guest 4 is inside user.
	if want := (cpuTimes{busy: 20, total: 70}); got != want {
		t.Errorf("cpu1 = %+v, want %+v", got, want)
	}
	if _, err := parseCPUTimes(stat, 2); err == nil {
		t.Error("cpu2 is not in the file, want an error")
	}
	if share := (cpuTimes{busy: 20, total: 70}).busyShare(cpuTimes{busy: 95, total: 170}); share != 0.75 {
		t.Errorf("busyShare = %v, want 0.75", share)
	}
}
