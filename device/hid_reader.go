package device

import (
	"context"
	"fmt"
	"time"
)

// reportSource yields raw HID input reports, one per call: gousb's
// *InEndpoint in a USB build, a fake in tests. ReadContext blocks until a
// report arrives or ctx ends.
type reportSource interface {
	ReadContext(ctx context.Context, buf []byte) (int, error)
}

// keyReader is the Reader of a keyboard-style key: it reads reports from src
// and decodes them with dec. It holds no USB code, so it is tested in every
// build against a fake source.
type keyReader struct {
	src     reportSource
	dec     *KeyboardDecoder
	device  string
	bufSize int          // read buffer: at least BootReportSize, a whole packet
	queue   []string     // codes decoded but not yet returned
	close   func() error // releases the device; nil: nothing to release
}

func newKeyReader(src reportSource, device string, bufSize int, closeFn func() error) *keyReader {
	return &keyReader{src: src, dec: &KeyboardDecoder{}, device: device, bufSize: max(bufSize, BootReportSize), close: closeFn}
}

// ReadCode reads reports until the key has typed a code and Enter. Partial
// reports are skipped. When ctx ends ReadCode returns ctx.Err(), whatever
// error the source gave for the cancelled read; what was typed so far is
// kept for the next call.
func (r *keyReader) ReadCode(ctx context.Context) (Code, error) {
	buf := make([]byte, r.bufSize)
	for len(r.queue) == 0 {
		if err := ctx.Err(); err != nil {
			return Code{}, err
		}
		n, err := r.src.ReadContext(ctx, buf)
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return Code{}, ctxErr
			}
			return Code{}, fmt.Errorf("read %s: %w", r.device, err)
		}
		codes, err := r.dec.Feed(buf[:n])
		if err != nil {
			continue // a partial report: skip it, as Feed asks
		}
		r.queue = append(r.queue, codes...)
	}
	c := Code{Value: r.queue[0], Device: r.device, At: time.Now()}
	r.queue = r.queue[1:]
	return c, nil
}

func (r *keyReader) Device() string { return r.device }

func (r *keyReader) Close() error {
	if r.close == nil {
		return nil
	}
	closeFn := r.close
	r.close = nil
	return closeFn()
}
