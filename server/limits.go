package server

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits of a job request, checked at submit (400), so that nothing
// unbounded or unprintable reaches a job record.
const (
	// MaxNameBytes is the longest output name: most filesystems' limit.
	MaxNameBytes = 255
	// MaxInputBytes is the longest input path.
	MaxInputBytes = 4096
	// MaxOptionBytes is the most bytes of ffmpeg options a job may have.
	MaxOptionBytes = 16 << 10
	// MaxOptions is the most ffmpeg option words a job may have.
	MaxOptions = 512
	// maxJSONBody is the largest job request body (413 above it): the
	// options' cap with room for JSON escaping.
	maxJSONBody = 64 << 10
)

// Defaults of the connection limits (see Options).
const (
	defaultReadHeaderTimeout = 10 * time.Second
	defaultBodyIdle          = time.Minute
	defaultMinBodyRate       = 8 << 10
	defaultIdleTimeout       = 2 * time.Minute
	defaultWriteIdle         = time.Minute
)

// HTTPServer is the API's http.Server, with the limits that keep a slow or
// idle client from holding a connection: headers must arrive within
// ReadHeaderTimeout, a kept-alive connection with no request closes after
// IdleTimeout, a request body is held to BodyIdle and MinBodyRate and a
// response to WriteIdle (see Handler). There is no whole-request
// ReadTimeout or WriteTimeout: an upload or a download may take hours, and
// an event stream lasts, as long as they keep moving.
func (s *Server) HTTPServer() *http.Server {
	return &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: s.opt.ReadHeaderTimeout,
		IdleTimeout:       s.opt.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
	}
}

// bodyDeadline holds every request body to a read deadline that progress
// moves: a body that stops for BodyIdle, or that arrives on average slower
// than MinBodyRate after the first BodyIdle, ends its request and its
// connection. Requests without a body get no read deadline: it would end a
// long event stream, whose connection is idle on purpose. Every response
// gets a write deadline WriteIdle ahead of each write, so a client that
// stops reading a download or an event stream frees it.
func (s *Server) bodyDeadline(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		// A deadline left by the connection's previous request must not
		// fail this one's first write (a 100 Continue, say).
		if rc.SetWriteDeadline(time.Time{}) == nil {
			w = &deadlineWriter{ResponseWriter: w, rc: rc, idle: s.opt.WriteIdle}
		}
		if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
			next.ServeHTTP(w, r)
			return
		}
		b := &deadlineBody{ReadCloser: r.Body, rc: rc, start: time.Now(), idle: s.opt.BodyIdle, rate: s.opt.MinBodyRate}
		if err := b.extend(b.start); err != nil {
			// The connection cannot take deadlines (not a TCP one): serve
			// the request as it is.
			next.ServeHTTP(w, r)
			return
		}
		r.Body = b
		next.ServeHTTP(w, r)
	})
}

// deadlineBody is a request body whose connection's read deadline moves as
// bytes arrive.
type deadlineBody struct {
	io.ReadCloser
	rc    *http.ResponseController
	start time.Time
	idle  time.Duration
	rate  int64 // bytes per second; 0: only the idle rule
	n     int64
	set   time.Time // when the deadline was last moved
}

// extend sets the deadline: now+idle, or sooner if the body is behind the
// minimum rate.
func (b *deadlineBody) extend(now time.Time) error {
	d := now.Add(b.idle)
	if b.rate > 0 {
		due := b.start.Add(b.idle + time.Duration(float64(b.n)/float64(b.rate)*float64(time.Second)))
		if due.Before(d) {
			d = due
		}
	}
	b.set = now
	return b.rc.SetReadDeadline(d)
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	switch {
	case errors.Is(err, io.EOF):
		// The whole body is in. The server now watches the connection for
		// the client going away; a deadline left here would end the
		// request (and cancel its context) while the handler still works.
		_ = b.rc.SetReadDeadline(time.Time{})
	case n > 0:
		// Moving it on every read is needless: a few times a second keeps
		// it within a fraction of BodyIdle of where it should be.
		if now := time.Now(); now.Sub(b.set) > b.idle/16 {
			_ = b.extend(now)
		}
	}
	return n, err
}

// deadlineWriter moves the connection's write deadline ahead of writes.
type deadlineWriter struct {
	http.ResponseWriter
	rc   *http.ResponseController
	idle time.Duration
	set  time.Time
}

func (d *deadlineWriter) extend() {
	// As for reads: a few times per idle period is close enough.
	if now := time.Now(); now.Sub(d.set) > d.idle/16 {
		d.set = now
		_ = d.rc.SetWriteDeadline(now.Add(d.idle))
	}
}

func (d *deadlineWriter) Write(p []byte) (int, error) {
	d.extend()
	return d.ResponseWriter.Write(p)
}

// Flush sends what is buffered, as the event stream needs.
func (d *deadlineWriter) Flush() {
	d.extend()
	_ = d.rc.Flush()
}

// Unwrap lets http.ResponseController reach the connection.
func (d *deadlineWriter) Unwrap() http.ResponseWriter { return d.ResponseWriter }

// refuseBody makes a response that leaves the request body unread close
// the connection at once. Otherwise net/http reads up to 256 KiB of the body,
// before the answer (to keep the connection) or after it (a chunked or short
// body), as slowly as the client cares to send it.
func refuseBody(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength != 0 {
		w.Header().Set("Connection", "close")
		// The answer is written before the server reads again; an
		// expired deadline makes that read fail at once.
		_ = http.NewResponseController(w).SetReadDeadline(time.Now())
	}
}

// checkText refuses a name or path that is too long, not UTF-8, or holds a
// control character (a newline in a file name, an escape sequence for the
// terminal that lists it).
func checkText(what, s string, max int) error {
	if len(s) > max {
		return badRequest("%s: %d bytes, over the limit of %d", what, len(s), max)
	}
	if !utf8.ValidString(s) {
		return badRequest("%s %q: not UTF-8", what, s)
	}
	for _, c := range s {
		if unicode.IsControl(c) || c == '\u2028' || c == '\u2029' {
			return badRequest("%s %q: control character %U", what, s, c)
		}
	}
	return nil
}

// checkOptionSize caps the options' count and bytes; what they say is
// media.ParseOptions' business.
func checkOptionSize(opts []string) error {
	if len(opts) > MaxOptions {
		return badRequest("options: %d words, over the limit of %d", len(opts), MaxOptions)
	}
	total := 0
	for _, o := range opts {
		total += len(o)
	}
	if total > MaxOptionBytes {
		return badRequest("options: %d bytes, over the limit of %d", total, MaxOptionBytes)
	}
	return nil
}

// Paging of GET /api/v1/jobs.
const (
	defaultPage = 100
	maxPage     = 1000
)

// page returns the records after the one named after (oldest first), at
// most limit of them.
func page(recs []*Record, after string, limit int) ([]*Record, error) {
	if after != "" {
		i := 0
		for i < len(recs) && recs[i].ID != after {
			i++
		}
		if i == len(recs) {
			return nil, errNotFound(after)
		}
		recs = recs[i+1:]
	}
	return recs[:min(limit, len(recs))], nil
}

// pageParams reads ?limit= and ?after= of a job list request.
func pageParams(r *http.Request) (string, int, error) {
	limit := defaultPage
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPage {
			return "", 0, badRequest("limit %q: want a number from 1 to %d", v, maxPage)
		}
		limit = n
	}
	after := r.URL.Query().Get("after")
	if err := checkText("after", after, 64); err != nil {
		return "", 0, err
	}
	return after, limit, nil
}

// handleList answers a page of jobs, oldest first.
func (s *Server) handleList(w http.ResponseWriter, r *http.Request) {
	after, limit, err := pageParams(r)
	if err != nil {
		writeError(w, err)
		return
	}
	recs, err := page(s.List(), after, limit)
	if err != nil {
		writeError(w, fmt.Errorf("after: %w", err))
		return
	}
	writeJSON(w, 200, recs)
}
