package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// Client talks to a scheduler's API.
type Client struct {
	URL   string // e.g. http://manager:8090
	Token string
	HTTP  *http.Client
}

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// send makes a request with the token and returns the response if its
// status is below 300, else the scheduler's error.
func (c *Client) send(ctx context.Context, method, path string, body io.Reader, size int64) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.URL, "/")+path, body)
	if err != nil {
		return nil, err
	}
	if size >= 0 && body != nil {
		req.ContentLength = size
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if method == http.MethodPut && size > 0 {
		// The scheduler answers a refused upload (no token, too large)
		// before the body, and closes: without waiting for its go-ahead
		// the client may still be sending when the connection is reset,
		// and loses the answer.
		req.Header.Set("Expect", "100-continue")
	}
	resp, err := c.http().Do(req)
	if err != nil {
		return nil, fmt.Errorf("scheduler %s: %w", c.URL, err)
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		return nil, responseError(resp)
	}
	return resp, nil
}

// do sends a request and decodes the JSON answer into into (if not nil).
func (c *Client) do(ctx context.Context, method, path string, body io.Reader, size int64, into any) error {
	resp, err := c.send(ctx, method, path, body, size)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if into == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(into)
}

// responseError turns an error answer into an error with its message.
func responseError(resp *http.Response) error {
	var e struct{ Error string }
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if json.Unmarshal(b, &e) != nil || e.Error == "" {
		e.Error = strings.TrimSpace(string(b))
	}
	return &apiError{resp.StatusCode, fmt.Sprintf("scheduler: %s (HTTP %d)", e.Error, resp.StatusCode)}
}

// StatusOf returns the HTTP status of an error from the client, or 0.
func StatusOf(err error) int {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.status
	}
	return 0
}

// Upload streams a local file into the storage's upload/ and returns its
// path there.
func (c *Client) Upload(ctx context.Context, file string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", fmt.Errorf("input %s: %w", file, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	var up struct{ Path string }
	if err := c.do(ctx, "PUT", "/api/v1/uploads/"+url.PathEscape(filepath.Base(file)), f, st.Size(), &up); err != nil {
		return "", err
	}
	return up.Path, nil
}

// Submit queues a job.
func (c *Client) Submit(ctx context.Context, req SubmitRequest) (*Record, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	var rec Record
	return &rec, c.do(ctx, "POST", "/api/v1/jobs", bytes.NewReader(b), int64(len(b)), &rec)
}

// Job returns a job.
func (c *Client) Job(ctx context.Context, id string) (*Record, error) {
	var rec Record
	return &rec, c.do(ctx, "GET", "/api/v1/jobs/"+url.PathEscape(id), nil, -1, &rec)
}

// Jobs lists every job, oldest first, a page at a time.
func (c *Client) Jobs(ctx context.Context) ([]*Record, error) {
	var all []*Record
	after := ""
	for {
		var recs []*Record
		path := fmt.Sprintf("/api/v1/jobs?limit=%d", maxPage)
		if after != "" {
			path += "&after=" + url.QueryEscape(after)
		}
		if err := c.do(ctx, "GET", path, nil, -1, &recs); err != nil {
			return nil, err
		}
		all = append(all, recs...)
		if len(recs) < maxPage {
			return all, nil
		}
		after = recs[len(recs)-1].ID
	}
}

// Cancel cancels a job.
func (c *Client) Cancel(ctx context.Context, id string) (*Record, error) {
	var rec Record
	return &rec, c.do(ctx, "DELETE", "/api/v1/jobs/"+url.PathEscape(id), nil, -1, &rec)
}

// Follow calls fn with the job each time it changes, until it ends (its
// final record is returned) or ctx ends.
func (c *Client) Follow(ctx context.Context, id string, fn func(*Record)) (*Record, error) {
	resp, err := c.send(ctx, "GET", "/api/v1/events?job="+url.QueryEscape(id), nil, -1)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var rec Record
		if err := json.Unmarshal([]byte(data), &rec); err != nil {
			return nil, fmt.Errorf("scheduler event: %w", err)
		}
		if fn != nil {
			fn(&rec)
		}
		if rec.Final() {
			return &rec, nil
		}
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("scheduler %s: event stream: %w", c.URL, err)
	}
	return nil, fmt.Errorf("scheduler %s: event stream ended before job %s did", c.URL, id)
}

// Download writes a done job's output to dst, through a hidden file beside
// it that is renamed when complete.
func (c *Client) Download(ctx context.Context, id, dst string) error {
	resp, err := c.send(ctx, "GET", "/api/v1/jobs/"+url.PathEscape(id)+"/output", nil, -1)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".dswarm-download-*-"+filepath.Base(dst))
	if err != nil {
		return fmt.Errorf("output %s: %w", dst, err)
	}
	_, err = io.Copy(tmp, resp.Body)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dst)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("output %s: %w", dst, err)
	}
	return nil
}

// DownloadDir copies a finished ladder's folder to dst: every file the
// scheduler lists, into a hidden folder beside dst that is renamed to it
// when complete, so that a failed copy leaves no half ladder.
func (c *Client) DownloadDir(ctx context.Context, id, dst string) error {
	var files []string
	if err := c.do(ctx, "GET", "/api/v1/jobs/"+url.PathEscape(id)+"/files", nil, -1, &files); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dst), ".dswarm-download-*-"+filepath.Base(dst))
	if err == nil {
		err = os.Chmod(tmp, 0o755)
	}
	if err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("output %s: %w", dst, err)
	}
	fetch := func(name string) error {
		if !filepath.IsLocal(name) {
			return fmt.Errorf("scheduler listed %q, not a path inside the folder", name)
		}
		var parts []string
		for _, p := range strings.Split(name, "/") {
			parts = append(parts, url.PathEscape(p))
		}
		resp, err := c.send(ctx, "GET", "/api/v1/jobs/"+url.PathEscape(id)+"/files/"+strings.Join(parts, "/"), nil, -1)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		path := filepath.Join(tmp, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		_, err = io.Copy(f, resp.Body)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	}
	for _, name := range files {
		if err = fetch(name); err != nil {
			break
		}
	}
	if err == nil {
		err = replaceDir(tmp, dst)
	}
	if err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("output %s: %w", dst, err)
	}
	return nil
}

// replaceDir renames the folder src to dst; a dst already there (the
// caller was told to overwrite it) goes only once src is in its place.
func replaceDir(src, dst string) error {
	if _, err := os.Stat(dst); err != nil {
		return os.Rename(src, dst)
	}
	old := src + ".old"
	if err := os.Rename(dst, old); err != nil {
		return err
	}
	if err := os.Rename(src, dst); err != nil {
		os.Rename(old, dst)
		return err
	}
	return os.RemoveAll(old)
}
