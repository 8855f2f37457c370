package backup

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"golang.org/x/sync/errgroup"

	"github.com/rcbs/rcbs/archive"
	"github.com/rcbs/rcbs/cms"
	"github.com/rcbs/rcbs/metadata"
)

// outcome is what became of one recording.
type outcome int

const (
	outDownloaded outcome = iota
	outSkipped
	outPending // dry run: would be downloaded
	outFailed
	outInvalid // can never succeed: failed, but does not hold the state
	outCanceled
)

// handle processes one recording and books the result; it reports whether
// the recording must hold the state file back. Called by the workers.
func (e *engine) handle(ctx context.Context, log *slog.Logger, rec metadata.Recording, s *slots) (hold bool) {
	out, bytes, err := e.process(ctx, rec, s)
	if out == outFailed && fatal(err) {
		e.abort(err) // the run stops; the error says why. This one still counts as failed.
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	switch out {
	case outDownloaded:
		e.sum.Downloaded++
		e.sum.Bytes += bytes
		e.prog.RecordingDone(rec.ID, bytes)
	case outSkipped:
		e.sum.Skipped++
		e.prog.RecordingDone(rec.ID, 0)
	case outPending:
		e.sum.Pending++
		e.sum.PendingBytes += bytes
		e.deps.Pending(rec.ID, bytes)
		e.prog.RecordingDone(rec.ID, 0)
	case outFailed, outInvalid:
		e.sum.Failed++
		if len(e.sum.FailedIDs) < MaxFailedIDs {
			e.sum.FailedIDs = append(e.sum.FailedIDs, rec.ID)
		}
		err = &RecordingError{ID: rec.ID, Err: err}
		log.Error("recording failed", "id", rec.ID, "err", err)
		e.prog.RecordingFailed(rec.ID, err)
	}
	return out == outFailed || out == outCanceled
}

// process is the life of one recording: validate, skip when complete,
// else media first and recording.json last (it marks completion).
func (e *engine) process(ctx context.Context, rec metadata.Recording, s *slots) (outcome, int64, error) {
	if err := validateRecording(rec); err != nil {
		return outInvalid, 0, err
	}
	dir, err := e.recordingDir(rec)
	if err != nil {
		return outInvalid, 0, err
	}
	kept := e.keptMedia(rec)
	if e.complete(dir, kept) {
		return outSkipped, 0, nil
	}
	if e.deps.DryRun {
		return outPending, plannedBytes(kept), nil
	}
	e.sweepFolder(dir) // what a crash left here; the rest of the tree is not walked
	written, files, plain, err := e.fetchAll(ctx, dir, kept, s)
	if ctx.Err() != nil {
		return outCanceled, 0, ctx.Err()
	}
	if err != nil {
		return outFailed, 0, err
	}
	if plain && len(e.certs) == 0 {
		e.noteUnencrypted(rec.ID)
	}
	recFile, data, err := e.writeRecordingJSON(dir, rec)
	if err != nil {
		return outFailed, 0, err
	}
	if err := e.catalog(ctx, dir, rec, data, append(files, recFile)); err != nil {
		return outFailed, 0, err
	}
	return outDownloaded, written + recFile.Size, nil
}

// noteUnencrypted counts a recording stored as it arrived, unencrypted;
// the run warns once, at its end (warnUnencrypted), not once per recording.
func (e *engine) noteUnencrypted(id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.sum.Unencrypted == 0 {
		e.firstUnencrypted = id
	}
	e.sum.Unencrypted++
}

// warnUnencrypted is the run's one warning about media stored unencrypted:
// a count and the first recording, so a cron mail names one to look at.
// Called with e.mu held.
func (e *engine) warnUnencrypted() {
	if e.sum.Unencrypted == 0 {
		return
	}
	e.log.Warn("media arrived unencrypted and were stored as is (set encryptionCertificate to encrypt them)",
		"recordings", e.sum.Unencrypted, "first", e.firstUnencrypted)
}

// catalog tells the index and the manifests of a completed recording;
// data is its recording.json as written.
func (e *engine) catalog(ctx context.Context, dir string, rec metadata.Recording, data []byte, files []archive.File) error {
	if e.deps.Catalog == nil {
		return nil
	}
	rel, err := filepath.Rel(e.root, dir)
	if err != nil {
		return err
	}
	c := archive.Recording{ID: rec.ID, Dir: filepath.ToSlash(rel), Start: rec.StartTime.UTC(), JSON: data, Files: files}
	if err := e.deps.Catalog.Add(ctx, c); err != nil {
		return fmt.Errorf("record it in the archive: %w", err)
	}
	return nil
}

// fetchAll writes every kept media file not already on disk. files lists
// every kept media file with its sha256: of the bytes as they streamed
// for those written now, read back for those an earlier attempt left.
// A recording's media are fetched at once (one round trip for all of
// them on a distant link), except in single download mode; the first
// failure stops its siblings.
func (e *engine) fetchAll(ctx context.Context, dir string, kept []metadata.MediaFile, s *slots) (written int64, files []archive.File, plain bool, err error) {
	files = make([]archive.File, len(kept))
	results := make([]fetchResult, len(kept))
	g, gctx := errgroup.WithContext(ctx)
	if e.cfg.DownloadMode == "single" {
		g.SetLimit(1)
	}
	for i, m := range kept {
		g.Go(func() error {
			if e.mediaComplete(dir, m) {
				f, err := hashFile(filepath.Join(dir, m.MediaID+".bin"))
				files[i] = f
				return err
			}
			res, err := e.fetchWithRetry(gctx, dir, m, s)
			results[i] = res
			files[i] = archive.File{Name: m.MediaID + ".bin", Size: res.bytes, SHA256: res.sha256}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return 0, nil, false, err
	}
	for _, res := range results {
		written += res.bytes
		plain = plain || res.plain
	}
	return written, files, plain, nil
}

// writeRecordingJSON writes recording.json and returns it as a file of the
// recording and as the bytes written.
func (e *engine) writeRecordingJSON(dir string, rec metadata.Recording) (archive.File, []byte, error) {
	data, err := recordingJSON(rec)
	if err != nil {
		return archive.File{}, nil, err
	}
	if err := e.files.WriteFile(filepath.Join(dir, RecordingFile), data, filePerm); err != nil {
		return archive.File{}, nil, err
	}
	return archive.File{Name: RecordingFile, Size: int64(len(data)), SHA256: sha256.Sum256(data)}, data, nil
}

// hashFile is the archive.File of a file already on disk.
func hashFile(path string) (archive.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return archive.File{}, fileErr(path, "open", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return archive.File{}, fileErr(path, "read", err)
	}
	out := archive.File{Name: filepath.Base(path), Size: n}
	h.Sum(out.SHA256[:0])
	return out, nil
}

// keptMedia is the media to back up: those whose type matches
// mediaTypePattern; none when metadata only.
func (e *engine) keptMedia(rec metadata.Recording) []metadata.MediaFile {
	if e.cfg.MetadataOnly {
		return nil
	}
	var kept []metadata.MediaFile
	for _, m := range rec.MediaFiles {
		if e.cfg.MediaTypePattern == nil || e.cfg.MediaTypePattern.MatchString(m.Type) {
			kept = append(kept, m)
		}
	}
	return kept
}

func plannedBytes(kept []metadata.MediaFile) int64 {
	var n int64
	for _, m := range kept {
		n += max(m.Size, 0)
	}
	return n
}

// complete is spec §4: recording.json exists and every kept media file is
// there with its size.
func (e *engine) complete(dir string, kept []metadata.MediaFile) bool {
	st, err := os.Stat(filepath.Join(dir, RecordingFile))
	if err != nil || !st.Mode().IsRegular() {
		return false
	}
	for _, m := range kept {
		if !e.mediaComplete(dir, m) {
			return false
		}
	}
	return true
}

// mediaComplete: the file has the metadata's size, or any size > 0 when
// the metadata gives none. A file rcbs encrypted itself (encryption
// certificate set, media arrived plain) has exactly cms.EncryptedSize of
// the metadata size and starts as CMS.
func (e *engine) mediaComplete(dir string, m metadata.MediaFile) bool {
	path := filepath.Join(dir, m.MediaID+".bin")
	st, err := os.Stat(path)
	if err != nil || !st.Mode().IsRegular() {
		return false
	}
	switch {
	case m.Size < 0:
		return st.Size() > 0
	case st.Size() == m.Size:
		return true
	case len(e.certs) > 0:
		want, err := cms.EncryptedSize(m.Size, e.certs, e.cipher)
		return err == nil && st.Size() == want && fileIsCMS(path)
	}
	return false
}
