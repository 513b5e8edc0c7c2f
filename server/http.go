package server

import (
	"context"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/dswarm/dswarm/job"
	"github.com/dswarm/dswarm/media"
	"github.com/dswarm/dswarm/nfs"
)

//go:embed web/index.html openapi.yaml
var assets embed.FS

// apiError is an error with its HTTP status.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func errNotFound(id string) error { return &apiError{404, fmt.Sprintf("job %s: no such job", id)} }

func badRequest(format string, args ...any) error {
	return &apiError{400, fmt.Sprintf(format, args...)}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	var ae *apiError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ae):
		status = ae.status
	case errors.As(err, &mbe):
		status = http.StatusRequestEntityTooLarge
	}
	writeJSON(w, status, map[string]string{"error": nfs.Scrub(err.Error())})
}

// Handler is the HTTP API, the metrics, the OpenAPI file and the web page.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]string{"status": "ok"})
	})
	api := http.NewServeMux()
	api.HandleFunc("PUT /api/v1/uploads/{name}", s.handleUpload)
	api.HandleFunc("POST /api/v1/jobs", s.handleSubmit)
	api.HandleFunc("GET /api/v1/jobs", s.handleList)
	api.HandleFunc("GET /api/v1/jobs/{id}", func(w http.ResponseWriter, r *http.Request) {
		rec, ok := s.Get(r.PathValue("id"))
		if !ok {
			writeError(w, errNotFound(r.PathValue("id")))
			return
		}
		writeJSON(w, 200, rec)
	})
	api.HandleFunc("DELETE /api/v1/jobs/{id}", func(w http.ResponseWriter, r *http.Request) {
		rec, err := s.Cancel(r.PathValue("id"))
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusAccepted, rec)
	})
	api.HandleFunc("GET /api/v1/jobs/{id}/output", s.handleOutput)
	api.HandleFunc("GET /api/v1/jobs/{id}/files", s.handleFileList)
	api.HandleFunc("GET /api/v1/jobs/{id}/files/{path...}", s.handleFiles)
	api.HandleFunc("GET /api/v1/events", s.handleEvents)
	api.HandleFunc("GET /api/v1/nodes", s.handleNodes)
	api.Handle("GET /metrics", s.metrics.handler())
	api.HandleFunc("GET /openapi.yaml", func(w http.ResponseWriter, r *http.Request) {
		b, _ := assets.ReadFile("openapi.yaml")
		w.Header().Set("Content-Type", "application/yaml")
		w.Write(b)
	})
	api.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		b, _ := assets.ReadFile("web/index.html")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; media-src 'self' blob:")
		w.Write(b)
	})
	mux.Handle("/", s.auth(api))
	return s.bodyDeadline(mux)
}

// TokenCookie carries the token for the web page (a browser cannot set a
// header on a page load or an EventSource); GET /?token=... sets it.
const TokenCookie = "dswarm_token"

// auth requires the token: "Authorization: Bearer TOKEN", or the cookie the
// page gets from /?token=TOKEN. Compared in constant time, from the headers
// alone: a request without the token is answered before any of its body is
// read, and its connection closed.
func (s *Server) auth(next http.Handler) http.Handler {
	want := []byte(s.opt.Token)
	ok := func(got string) bool {
		return got != "" && subtle.ConstantTimeCompare([]byte(got), want) == 1
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if t := r.URL.Query().Get("token"); r.URL.Path == "/" && ok(t) {
			http.SetCookie(w, &http.Cookie{Name: TokenCookie, Value: t, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
		got := ""
		if h := r.Header.Get("Authorization"); h != "" {
			got = strings.TrimSpace(strings.TrimPrefix(h, "Bearer"))
		} else if c, err := r.Cookie(TokenCookie); err == nil {
			got = c.Value
		}
		if !ok(got) {
			refuseBody(w, r)
			if got == "" {
				writeError(w, &apiError{401, "no API token: send Authorization: Bearer TOKEN"})
			} else {
				writeError(w, &apiError{401, "wrong API token"})
			}
			return
		}
		next.ServeHTTP(w, r)
	})
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// SanitizeName turns an uploaded file's name into a safe file name: its
// last element, letters, digits, '.', '_' and '-' only, no leading dot.
func SanitizeName(name string) (string, error) {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, `/\`) || strings.Contains(name, "..") {
		return "", badRequest("name %q: want a plain file name, without '/', '\\' or '..'", name)
	}
	clean := strings.TrimLeft(unsafeChars.ReplaceAllString(name, "_"), "._-")
	if len(clean) > 120 {
		ext := filepath.Ext(clean)
		clean = clean[:120-len(ext)] + ext
	}
	if clean == "" || filepath.Ext(clean) == clean {
		return "", badRequest("name %q: nothing left of it as a file name", name)
	}
	return clean, nil
}

// handleUpload streams a file into upload/, refuses it if it is larger
// than the limit or holds no video, and answers its storage path.
func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request) {
	name, err := SanitizeName(r.PathValue("name"))
	if err != nil {
		refuseBody(w, r)
		writeError(w, err)
		return
	}
	if r.ContentLength > s.opt.MaxUpload {
		refuseBody(w, r)
		writeError(w, &apiError{413, fmt.Sprintf("upload %s: %d bytes is over the limit of %d", name, r.ContentLength, s.opt.MaxUpload)})
		return
	}
	body := http.MaxBytesReader(w, r.Body, s.opt.MaxUpload)
	tmp, err := os.CreateTemp(s.layout.Upload(), ".upload-*-"+name)
	if err != nil {
		writeError(w, fmt.Errorf("upload %s: %w", name, err))
		return
	}
	n, err := io.Copy(tmp, body)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	s.metrics.storageBytes.WithLabelValues("upload").Add(float64(n))
	fail := func(err error) {
		os.Remove(tmp.Name())
		writeError(w, err)
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		refuseBody(w, r)
		fail(&apiError{413, fmt.Sprintf("upload %s: over the limit of %d bytes", name, s.opt.MaxUpload)})
		return
	}
	if err != nil {
		fail(fmt.Errorf("upload %s: %w", name, err))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), time.Minute)
	defer cancel()
	info, err := media.Probe(ctx, tmp.Name())
	if err == nil {
		_, err = info.Video()
	}
	if err != nil {
		fail(badRequest("upload %s: not a video file: %v", name, err))
		return
	}
	final, err := s.claim(name, tmp.Name())
	if err != nil {
		fail(err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"path": nfs.UploadDir + "/" + final, "bytes": n})
}

// claim renames tmp to name in upload/, or name-1, name-2... if taken.
func (s *Server) claim(name, tmp string) (string, error) {
	ext := filepath.Ext(name)
	base := strings.TrimSuffix(name, ext)
	for i := 0; i < 1000; i++ {
		cand := name
		if i > 0 {
			cand = fmt.Sprintf("%s-%d%s", base, i, ext)
		}
		dst := filepath.Join(s.layout.Upload(), cand)
		// Link, not rename: it fails if the name is taken.
		if err := os.Link(tmp, dst); err == nil {
			os.Remove(tmp)
			return cand, nil
		} else if !errors.Is(err, os.ErrExist) {
			if _, statErr := os.Stat(dst); statErr == nil {
				continue
			}
			if err := os.Rename(tmp, dst); err != nil { // storage without hard links
				return "", fmt.Errorf("upload %s: %w", name, err)
			}
			return cand, nil
		}
	}
	return "", &apiError{409, fmt.Sprintf("upload %s: too many files of that name", name)}
}

// SubmitRequest is the body of POST /api/v1/jobs.
type SubmitRequest struct {
	// Input is a file on the shared storage, relative to its root, e.g.
	// "upload/movie.mp4" as PUT /api/v1/uploads answered.
	Input string `json:"input"`
	// Output is a file name in download/; default NAME.dswarm.EXT (for a
	// ladder, a folder name; default NAME.ladder).
	Output string `json:"output,omitempty"`
	// Options are ffmpeg output options, as after INPUT on the CLI.
	Options []string `json:"options"`
	// OnePass keeps a -b:v target one-pass in every segment (no analysis
	// pass, no budget split), as the CLI's --one-pass.
	OnePass bool `json:"one_pass,omitempty"`
	// Ladder makes the job an ABR ladder packaged as HLS and DASH, as the
	// CLI's --ladder: "default" or rungs such as 720p:3M,480p:1.2M,360p:600k.
	Ladder string `json:"ladder,omitempty"`
	// LadderCodec is the ladder's video encoder (default libx264, or the
	// -c:v among Options), as the CLI's --ladder-codec.
	LadderCodec string `json:"ladder_codec,omitempty"`
	// SegmentSeconds is a ladder's packaged segment length (default 4), as
	// the CLI's --segment-duration with --ladder.
	SegmentSeconds float64 `json:"segment_seconds,omitempty"`
}

func (s *Server) handleSubmit(w http.ResponseWriter, r *http.Request) {
	var req SubmitRequest
	if err := decodeStrict(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	rec, err := s.newRecord(req)
	if err != nil {
		writeError(w, err)
		return
	}
	created, err := s.submit(rec)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, created)
}

// newRecord checks a request: the input stays inside the storage and is a
// file, the output is a plain name that is free, the options pass the same
// rules as the CLI's (none may name another file).
func (s *Server) newRecord(req SubmitRequest) (*Record, error) {
	if err := errors.Join(checkText("input", req.Input, MaxInputBytes), checkText("output", req.Output, MaxNameBytes),
		checkText("ladder", req.Ladder, MaxNameBytes), checkText("ladder_codec", req.LadderCodec, MaxNameBytes), checkOptionSize(req.Options)); err != nil {
		return nil, badRequest("%s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	in := filepath.ToSlash(req.Input)
	if in == "" {
		return nil, badRequest("input: missing (a path on the shared storage, e.g. upload/movie.mp4)")
	}
	if !filepath.IsLocal(in) || strings.Contains(in, "..") {
		return nil, badRequest("input %q: want a relative path inside the shared storage, without '..'", req.Input)
	}
	in = filepath.Clean(in)
	top := strings.SplitN(in, "/", 2)[0]
	if top != nfs.UploadDir && top != nfs.DownloadDir {
		return nil, badRequest("input %q: want a file under %s/ or %s/", req.Input, nfs.UploadDir, nfs.DownloadDir)
	}
	out := req.Output
	if out == "" {
		out = filepath.Base(job.DefaultOutput(in))
		if req.Ladder != "" {
			out = strings.TrimSuffix(filepath.Base(in), filepath.Ext(in)) + ".ladder"
		}
	}
	if req.Ladder == "" && (req.LadderCodec != "" || req.SegmentSeconds != 0) {
		return nil, badRequest("ladder_codec and segment_seconds: only with a ladder")
	}
	if req.SegmentSeconds < 0 || req.SegmentSeconds > 60 {
		return nil, badRequest("segment_seconds %g: want a packaged segment length of up to 60 s", req.SegmentSeconds)
	}
	if req.Ladder != "" {
		if s.opt.RunLadder == nil {
			return nil, badRequest("ladder: this scheduler runs no ladder jobs")
		}
		if err := job.CheckLadder(req.Ladder, req.LadderCodec, req.Options, req.OnePass); err != nil {
			return nil, badRequest("ladder: %v", err)
		}
	}
	if strings.ContainsAny(out, `/\`) || strings.Contains(out, "..") || strings.HasPrefix(out, ".") {
		return nil, badRequest("output %q: want a plain file name (it goes in %s/)", out, nfs.DownloadDir)
	}
	opts, err := media.ParseOptions(req.Options)
	if err != nil {
		return nil, badRequest("options: %v", err)
	}
	if opts.Overwrite {
		return nil, badRequest("options: -y is not taken from the API; outputs are never overwritten")
	}
	abs := filepath.Join(s.opt.Root, in)
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, &apiError{404, fmt.Sprintf("input %s: no such file on the shared storage", in)}
	}
	root, _ := filepath.EvalSymlinks(s.opt.Root)
	if rel, err := filepath.Rel(root, real); err != nil || !filepath.IsLocal(rel) {
		return nil, badRequest("input %q: leads outside the shared storage", req.Input)
	}
	if st, err := os.Stat(real); err != nil || !st.Mode().IsRegular() {
		return nil, badRequest("input %s: not a regular file", in)
	}
	if _, err := os.Stat(filepath.Join(s.layout.Download(), out)); err == nil {
		return nil, &apiError{409, fmt.Sprintf("output %s already exists in %s/", out, nfs.DownloadDir)}
	}
	return &Record{ID: job.NewJobID(), State: StateQueued, Input: in, Output: out, Options: req.Options, OnePass: req.OnePass,
		Ladder: req.Ladder, LadderCodec: req.LadderCodec, SegmentSeconds: req.SegmentSeconds, Created: time.Now(), Segments: []SegmentState{}}, nil
}

// decodeStrict reads one JSON object of at most maxJSONBody bytes into v:
// unknown fields and anything after the object are refused (400), a larger
// body is 413.
// maxDrain is how much of an oversize job request is read and dropped
// before the 413, so that the client hears it.
const maxDrain = 8 << 20

func decodeStrict(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if extra := dec.Decode(&json.RawMessage{}); extra != io.EOF {
			err = errors.New("trailing data after the JSON object")
			var mbe *http.MaxBytesError
			if errors.As(extra, &mbe) {
				err = extra
			}
		}
	}
	var mbe *http.MaxBytesError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &mbe):
		// Read a bounded rest of the body first: closing on unread data
		// resets the connection, and a client still sending loses the 413.
		// (This request carried the token: it is no stranger's.)
		if _, derr := io.CopyN(io.Discard, r.Body, maxDrain); derr != io.EOF {
			refuseBody(w, r)
		}
		return &apiError{413, fmt.Sprintf("job request: over the limit of %d bytes", maxJSONBody)}
	default:
		return badRequest("job request: %v", err)
	}
}

func (s *Server) handleOutput(w http.ResponseWriter, r *http.Request) {
	rec, ok := s.Get(r.PathValue("id"))
	if !ok {
		writeError(w, errNotFound(r.PathValue("id")))
		return
	}
	if rec.State != StateDone {
		writeError(w, &apiError{409, fmt.Sprintf("job %s is %s: no output", rec.ID, rec.State)})
		return
	}
	if rec.Ladder != "" {
		writeError(w, &apiError{409, fmt.Sprintf("job %s is a ladder, a folder: get its files from /api/v1/jobs/%s/files/%s", rec.ID, rec.ID, job.LadderMaster)})
		return
	}
	f, err := os.Open(filepath.Join(s.layout.Download(), rec.Output))
	if err != nil {
		writeError(w, &apiError{404, fmt.Sprintf("job %s: output %s is gone from %s/", rec.ID, rec.Output, nfs.DownloadDir)})
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", rec.Output))
	cw := &countingWriter{ResponseWriter: w}
	http.ServeContent(cw, r, rec.Output, st.ModTime(), f)
	s.metrics.storageBytes.WithLabelValues("download").Add(float64(cw.n))
}

// ladderTypes are the media types of a ladder's files that Go does not
// know by their extension.
var ladderTypes = map[string]string{
	".m3u8": "application/vnd.apple.mpegurl",
	".mpd":  "application/dash+xml",
	".m4s":  "video/iso.segment",
	".mp4":  "video/mp4",
	".vtt":  "text/vtt; charset=utf-8",
}

// ladderRoot opens a finished ladder job's folder, or writes why not.
func (s *Server) ladderRoot(w http.ResponseWriter, r *http.Request) (*Record, *os.Root, bool) {
	rec, ok := s.Get(r.PathValue("id"))
	if !ok {
		writeError(w, errNotFound(r.PathValue("id")))
		return nil, nil, false
	}
	if rec.Ladder == "" || rec.State != StateDone {
		writeError(w, &apiError{409, fmt.Sprintf("job %s is %s and no finished ladder: no files", rec.ID, rec.State)})
		return nil, nil, false
	}
	root, err := os.OpenRoot(filepath.Join(s.layout.Download(), rec.Output))
	if err != nil {
		writeError(w, &apiError{404, fmt.Sprintf("job %s: its folder %s is gone from %s/", rec.ID, rec.Output, nfs.DownloadDir)})
		return nil, nil, false
	}
	return rec, root, true
}

// handleFileList lists a finished ladder's files (paths inside its folder,
// sorted), for a client that copies the folder.
func (s *Server) handleFileList(w http.ResponseWriter, r *http.Request) {
	_, root, ok := s.ladderRoot(w, r)
	if !ok {
		return
	}
	defer root.Close()
	files := []string{}
	err := fs.WalkDir(root.FS(), ".", func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, files)
}

// handleFiles serves a file of a finished ladder job's folder, for a
// player: only inside that folder (os.Root refuses '..' and links out).
func (s *Server) handleFiles(w http.ResponseWriter, r *http.Request) {
	rec, root, ok := s.ladderRoot(w, r)
	if !ok {
		return
	}
	defer root.Close()
	name := r.PathValue("path")
	f, err := root.Open(name)
	var st os.FileInfo
	if err == nil {
		defer f.Close()
		st, err = f.Stat()
	}
	if err != nil || !st.Mode().IsRegular() {
		writeError(w, &apiError{404, fmt.Sprintf("job %s: no file %q in its folder", rec.ID, name)})
		return
	}
	if t, ok := ladderTypes[filepath.Ext(name)]; ok {
		w.Header().Set("Content-Type", t)
	}
	cw := &countingWriter{ResponseWriter: w}
	http.ServeContent(cw, r, name, st.ModTime(), f)
	s.metrics.storageBytes.WithLabelValues("download").Add(float64(cw.n))
}

type countingWriter struct {
	http.ResponseWriter
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.ResponseWriter.Write(b)
	c.n += int64(n)
	return n, err
}

func (s *Server) handleNodes(w http.ResponseWriter, r *http.Request) {
	if s.opt.Nodes == nil {
		writeJSON(w, 200, []Node{})
		return
	}
	nodes, err := s.opt.Nodes(r.Context())
	if err != nil {
		writeError(w, &apiError{502, fmt.Sprintf("list nodes: %v", err)})
		return
	}
	busy := s.busy()
	for i := range nodes {
		nodes[i].Busy = busy[nodes[i].Hostname]
	}
	writeJSON(w, 200, nodes)
}

// handleEvents streams job records as server-sent events ("job"), one each
// time a job changes; ?job=ID follows one job.
func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		writeError(w, errors.New("streaming unsupported"))
		return
	}
	only := r.URL.Query().Get("job")
	if only != "" {
		if _, ok := s.Get(only); !ok {
			writeError(w, errNotFound(only))
			return
		}
	}
	sub, stop := s.events.subscribe()
	defer stop()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(200)
	send := func(rec *Record) {
		b, _ := json.Marshal(rec)
		fmt.Fprintf(w, "event: job\ndata: %s\n\n", b)
	}
	for _, rec := range s.List() {
		if only == "" || rec.ID == only {
			send(rec)
		}
	}
	flusher.Flush()
	heartbeat := time.NewTicker(15 * time.Second)
	defer heartbeat.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-heartbeat.C:
			fmt.Fprint(w, ": keep-alive\n\n")
		case <-sub.notify:
			for _, rec := range sub.drain() {
				if only == "" || rec.ID == only {
					send(rec)
				}
			}
		}
		flusher.Flush()
	}
}

func sortRecords(rs []*Record) {
	sort.Slice(rs, func(i, j int) bool { return rs[i].Created.Before(rs[j].Created) })
}
