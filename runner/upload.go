package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/waymarkhq/waymark/journeys"
	"github.com/waymarkhq/waymark/results"
)

// upload sets each field's file on the <input type=file> its locator
// finds, as a person choosing it would: the page gets input and change.
func (x *execution) upload(ctx context.Context, fields []journeys.Field) error {
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
			_, err := cdp.Call(ctx, t, dom.SetFileInputFiles, dom.SetFileInputFilesParams{Files: []string{file}, ObjectID: obj.ObjectID})
			_, _ = cdp.Call(ctx, t, runtime.ReleaseObject, runtime.ReleaseObjectParams{ObjectID: obj.ObjectID})
			return err
		}))
		if err != nil {
			return fmt.Errorf("upload to %s: %w", fl.Locator.Raw, err)
		}
	}
	return nil
}

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
