package gmail

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/inboxsync/inboxsync/sync/provider"
	"github.com/inboxsync/inboxsync/sync/provider/internal/httpapi"
)

// MaxBatch is the most calls Gmail's batch endpoint takes in one request.
const MaxBatch = 100

// batchPart is one answer inside a batch answer.
type batchPart struct {
	status int
	body   []byte
}

// batchURL returns the batch endpoint of a Gmail endpoint and the path
// prefix of the calls inside it: https://gmail.googleapis.com/gmail/v1
// gives https://gmail.googleapis.com/batch/gmail/v1 and /gmail/v1.
func batchURL(endpoint string) (string, string) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", ""
	}
	return u.Scheme + "://" + u.Host + "/batch" + u.Path, u.Path
}

// batchBody writes one GET per path as a multipart/mixed batch request.
func batchBody(paths []string) (contentType string, body []byte) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for i, p := range paths {
		h := textproto.MIMEHeader{}
		h.Set("Content-Type", "application/http")
		h.Set("Content-ID", "<item"+strconv.Itoa(i)+">")
		pw, _ := w.CreatePart(h)
		fmt.Fprintf(pw, "GET %s HTTP/1.1\r\nAccept: application/json\r\n\r\n", p)
	}
	w.Close()
	return "multipart/mixed; boundary=" + w.Boundary(), b.Bytes()
}

// parseBatch reads a batch answer of n calls. Parts are matched to calls
// by their Content-ID (<response-itemN>); a call without an answer is an
// error.
func parseBatch(contentType string, body []byte, n int) ([]batchPart, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || !strings.HasPrefix(mt, "multipart/") || params["boundary"] == "" {
		return nil, fmt.Errorf("a batch answer of type %q", contentType)
	}
	out := make([]batchPart, n)
	r := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for {
		part, err := r.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading a batch answer: %w", err)
		}
		id := strings.Trim(part.Header.Get("Content-ID"), "<>")
		i, err := strconv.Atoi(strings.TrimPrefix(id, "response-item"))
		if err != nil || i < 0 || i >= n || out[i].status != 0 {
			return nil, fmt.Errorf("a batch answer part with Content-ID %q", id)
		}
		resp, err := http.ReadResponse(bufio.NewReader(part), nil)
		if err != nil {
			return nil, fmt.Errorf("reading batch answer part %d: %w", i, err)
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, httpapi.MaxAnswer))
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("reading batch answer part %d: %w", i, err)
		}
		out[i] = batchPart{status: resp.StatusCode, body: b}
	}
	for i := range out {
		if out[i].status == 0 {
			return nil, fmt.Errorf("the batch answer lacks call %d", i)
		}
	}
	return out, nil
}

// getBatch reads the metadata of ids in one batch request. Each part can
// fail on its own: a gone message (404) is a nil body; any other failed
// part fails the batch with its class, after one renewal of the access
// token if the parts were refused (401).
func (p *Provider) getBatch(ctx context.Context, ids []string, suffix string) ([][]byte, error) {
	paths := make([]string, len(ids))
	for i, id := range ids {
		paths[i] = p.batchPrefix + "/users/me/messages/" + id + suffix
	}
	ct, body := batchBody(paths)
	r := httpapi.Request{Service: "Gmail", Method: http.MethodPost, URL: p.batchURL, Body: body, Header: http.Header{"Content-Type": {ct}}}
	if p.pace != nil {
		r.Wait = func(ctx context.Context) error { return p.pace.wait(ctx, 5*float64(len(ids))) }
	}
	// The parts of the last 200 answer, read once: a batch whose parts
	// were refused (401) is sent again after one renewal (Do).
	var parts []batchPart
	var perr error
	r.Refused = func(a httpapi.Answer) bool {
		parts, perr = parseBatch(a.Header.Get("Content-Type"), a.Body, len(ids))
		return perr == nil && slices.ContainsFunc(parts, func(b batchPart) bool { return b.status == http.StatusUnauthorized })
	}
	a, err := p.http.Do(ctx, r)
	if err != nil {
		return nil, err
	}
	if a.Status != http.StatusOK {
		return nil, p.classify(parseAPIError(a.Status, a.Body), callMessage, a.Header.Get("Retry-After"))
	}
	if perr != nil {
		return nil, provider.Failed("Gmail sent an answer Inbox Sync cannot read.", perr)
	}
	out := make([][]byte, len(ids))
	var failed *batchPart
	refused := false
	for i := range parts {
		switch parts[i].status {
		case http.StatusOK:
			out[i] = parts[i].body
		case http.StatusNotFound:
		case http.StatusUnauthorized:
			refused = true
		default:
			if failed == nil {
				failed = &parts[i]
			}
		}
	}
	if failed == nil && refused {
		// Still refused after the renewal.
		failed = &batchPart{status: http.StatusUnauthorized}
	}
	if failed != nil {
		return nil, p.classify(parseAPIError(failed.status, failed.body), callMessage, "")
	}
	p.answered()
	return out, nil
}
