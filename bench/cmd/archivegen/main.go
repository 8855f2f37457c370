// Command archivegen makes a synthetic archive for the archive-size
// benchmarks (BENCHMARKS.md, "Costs that grow with the archive"): N
// recording folders yyyy/MM/dd/HH/<id>/ under a targetDir, each holding
// only a small recording.json (no media: what is measured is the tree,
// not the bytes), spread evenly over the days before -end, and a state
// file at -end, as a cron job's archive of years looks.
//
//	go run ./bench/cmd/archivegen -dir /tmp/rcbs-archive -recordings 1000000 -per-day 10000 -end 2024-03-10
//
// It refuses a folder that already holds something, so it never adds to
// or mixes with a real archive.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "archivegen:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("archivegen", flag.ContinueOnError)
	dir := fs.String("dir", "", "targetDir to create (must not exist or be empty)")
	n := fs.Int("recordings", 1_000_000, "recording folders to make")
	perDay := fs.Int("per-day", 10_000, "recordings per day (they fill the days before -end)")
	endText := fs.String("end", "2024-03-10", "the day after the last recording, YYYY-MM-DD; the state file holds it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	end, err := time.Parse(time.DateOnly, *endText)
	if err != nil {
		return fmt.Errorf("-end: %w", err)
	}
	if *dir == "" || *n < 1 || *perDay < 1 {
		return errors.New("want -dir, -recordings ≥ 1 and -per-day ≥ 1")
	}
	if entries, err := os.ReadDir(*dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s is not empty", *dir)
	}
	days := (*n + *perDay - 1) / *perDay
	first := end.AddDate(0, 0, -days)
	started := time.Now()
	if err := makeAll(*dir, first, *n, *perDay); err != nil {
		return err
	}
	state := fmt.Sprintf("%013d\n", end.UnixMilli())
	if err := os.WriteFile(filepath.Join(*dir, "last_recording_endtime.txt"), []byte(state), 0o600); err != nil {
		return err
	}
	fmt.Printf("%d recording folders over %d days (%s..%s) in %s in %s\n", *n, days,
		first.Format(time.DateOnly), end.Format(time.DateOnly), *dir, time.Since(started).Round(time.Second))
	return nil
}

// makeAll writes recording i at first + i/perDay days, spread over the
// day's hours, with several writers (the work is mostly file creation).
func makeAll(dir string, first time.Time, n, perDay int) error {
	jobs := make(chan int, 1024)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for range max(runtime.NumCPU(), 4) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if err := makeOne(dir, first, i, perDay); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		}()
	}
	for i := range n {
		select {
		case err := <-errs:
			close(jobs)
			wg.Wait()
			return err
		case jobs <- i:
		}
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

func makeOne(dir string, first time.Time, i, perDay int) error {
	offset := time.Duration(i%perDay) * (24 * time.Hour) / time.Duration(perDay)
	start := first.AddDate(0, 0, i/perDay).Add(offset)
	id := fmt.Sprintf("SYN%029d", i) // 32 upper-case alphanumerics, as the API's
	folder := filepath.Join(dir, start.Format("2006/01/02/15"), id)
	if err := os.MkdirAll(folder, 0o700); err != nil {
		return err
	}
	doc := fmt.Sprintf("{\n  \"id\": %q,\n  \"startTime\": %q,\n  \"stopTime\": %q,\n  \"mediaFiles\": []\n}\n",
		id, start.Format("2006-01-02T15:04:05.000Z"), start.Add(time.Minute).Format("2006-01-02T15:04:05.000Z"))
	return os.WriteFile(filepath.Join(folder, "recording.json"), []byte(doc), 0o600)
}
