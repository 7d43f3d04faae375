package runner

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"os"
	"path/filepath"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/waymarkhq/waymark/journeys"
	"github.com/waymarkhq/waymark/results"
)

// maxSentFile bounds a file sent to a remote browser: it travels in one
// DevTools message, base64-encoded, and is held in the page's memory.
const maxSentFile = 10 << 20

// upload sets each field's file on the <input type=file> its locator
// finds, as a person choosing it would: the page gets input and change. A
// local browser reads the file from its path; a remote one, whose disk is
// not this machine's, is sent the file's bytes.
func (x *execution) upload(ctx context.Context, fields []journeys.Field) error {
	local := x.r.b.Local()
	for _, fl := range fields {
		if _, err := x.await(ctx, fl.Locator, "present", lookup{}); err != nil {
			return err
		}
		// The browser reads the file: it needs a path that does not depend
		// on its working directory.
		file, err := filepath.Abs(fl.Value)
		if err != nil {
			return fail(results.CauseMonitor, "upload %s: %v", fl.Value, err)
		}
		var sent *sentFile
		if !local {
			if sent, err = readSentFile(file); err != nil {
				return fail(results.CauseMonitor, "upload %s: %v", fl.Value, err)
			}
		}
		obj, refused, err := x.page.fileInput(ctx, jsLocator{Kind: string(fl.Locator.Kind), Value: fl.Locator.Value})
		switch {
		case err != nil:
			return fmt.Errorf("find %s for upload: %w", fl.Locator.Raw, err)
		case refused != "":
			return fail(results.CauseSelector, "%s: %s", fl.Locator.Raw, refused)
		case obj == nil:
			// It was present a moment ago: the page replaced it.
			return fail(results.CauseSelector, "%s disappeared before the file could be set", fl.Locator.Raw)
		}
		err = chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			defer func() {
				_, _ = cdp.Call(ctx, t, runtime.ReleaseObject, runtime.ReleaseObjectParams{ObjectID: obj.ObjectID})
			}()
			if sent != nil {
				_, err := chromedp.CallFunctionOn[chromedp.Void](sendFileJS, func(p *runtime.CallFunctionOnParams) {
					p.ObjectID = obj.ObjectID
				}, sent.name, sent.typ, sent.modified, base64.StdEncoding.EncodeToString(sent.data))(ctx, t)
				return err
			}
			_, err := cdp.Call(ctx, t, dom.SetFileInputFiles, dom.SetFileInputFilesParams{Files: []string{file}, ObjectID: obj.ObjectID})
			return err
		}))
		if err != nil {
			return fmt.Errorf("upload to %s: %w", fl.Locator.Raw, err)
		}
	}
	return nil
}

// sentFile is a file read to be sent to a remote browser.
type sentFile struct {
	name     string // base name, as a file chooser gives it
	typ      string // MIME type from the extension; empty when unknown
	modified int64  // modification time, Unix milliseconds
	data     []byte
}

// readSentFile reads the regular file at path, of at most maxSentFile
// bytes.
func readSentFile(path string) (*sentFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	switch {
	case err != nil:
		return nil, err
	case !fi.Mode().IsRegular():
		return nil, errors.New("not a regular file")
	case fi.Size() > maxSentFile:
		return nil, tooLarge(fi.Size())
	}
	data, err := io.ReadAll(io.LimitReader(f, maxSentFile+1))
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if len(data) > maxSentFile {
		return nil, tooLarge(int64(len(data)))
	}
	typ, _, _ := mime.ParseMediaType(mime.TypeByExtension(filepath.Ext(path)))
	return &sentFile{name: filepath.Base(path), typ: typ, modified: fi.ModTime().UnixMilli(), data: data}, nil
}

// tooLarge says that a file cannot be sent to a remote browser.
func tooLarge(size int64) error {
	return fmt.Errorf("%.1f MB is more than the %d MB a remote browser (browser.url) can be sent: use a smaller file, or a local browser, which reads the file itself",
		float64(size)/(1<<20), maxSentFile>>20)
}

// sendFileJS runs on an <input type=file>: it builds a File from base64
// bytes, sets it as the input's only file and fires input and change, as
// choosing it in the file dialog does.
const sendFileJS = `function(name, type, lastModified, b64) {
	const bin = atob(b64);
	const bytes = new Uint8Array(bin.length);
	for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
	const dt = new DataTransfer();
	dt.items.add(new File([bytes], name, {type, lastModified}));
	this.files = dt.files;
	this.dispatchEvent(new Event("input", {bubbles: true, composed: true}));
	this.dispatchEvent(new Event("change", {bubbles: true}));
}`

// fileInput returns the page's <input type=file> for loc as a remote
// object, or why the element found is not one, or nil when none matches
// now. The caller releases the object.
func (p *page) fileInput(ctx context.Context, loc jsLocator) (obj *runtime.RemoteObject, refused string, err error) {
	arg, err := json.Marshal(lookup{Loc: loc, State: "present", Op: "element"})
	if err != nil {
		return nil, "", err
	}
	obj, err = chromedp.Run(ctx, chromedp.Evaluate[*runtime.RemoteObject]("("+pageJS+")("+string(arg)+")", chromedp.EvalAwaitPromise))
	if err != nil {
		return nil, "", err
	}
	switch {
	case obj.Type == runtime.RemoteObjectTypeString:
		_ = json.Unmarshal(obj.Value, &refused)
		return nil, refused, nil
	case obj.Subtype != runtime.RemoteObjectSubtypeNode:
		return nil, "", nil
	}
	return obj, "", nil
}
