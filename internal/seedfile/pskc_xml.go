package seedfile

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// node is an XML element with its namespace dropped. PSKC files come with
// every prefix imaginable (pskc:, foo:, none) and older namespaces, so the
// reader matches elements by local name only.
type node struct {
	name     string
	attrs    []xml.Attr
	children []*node
	text     strings.Builder
}

// Limits that keep a hostile file from exhausting memory or the stack.
const (
	maxPSKCSize  = 64 << 20
	maxXMLDepth  = 64
	maxXMLNodes  = 2_000_000
	maxTextBytes = 1 << 20
)

func parseXML(data []byte) (*node, error) {
	if len(data) > maxPSKCSize {
		return nil, fmt.Errorf("%w: file is larger than %d MiB", ErrMalformed, maxPSKCSize>>20)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	dec.CharsetReader = func(charset string, r io.Reader) (io.Reader, error) {
		switch strings.ToLower(charset) {
		case "utf-8", "utf8", "us-ascii", "ascii":
			return r, nil
		}
		return nil, fmt.Errorf("character set %q: save the file as UTF-8", charset)
	}
	var (
		root  *node
		stack []*node
		count int
	)
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: not well-formed XML: %v", ErrMalformed, xmlErrorText(err))
		}
		switch t := tok.(type) {
		case xml.StartElement:
			count++
			if count > maxXMLNodes || len(stack) >= maxXMLDepth {
				return nil, fmt.Errorf("%w: XML nested deeper than %d or larger than %d elements", ErrMalformed, maxXMLDepth, maxXMLNodes)
			}
			n := &node{name: t.Name.Local, attrs: t.Attr}
			if len(stack) == 0 {
				if root != nil {
					return nil, fmt.Errorf("%w: more than one root element", ErrMalformed)
				}
				root = n
			} else {
				parent := stack[len(stack)-1]
				parent.children = append(parent.children, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				n := stack[len(stack)-1]
				if n.text.Len()+len(t) > maxTextBytes {
					return nil, fmt.Errorf("%w: element %s holds more than 1 MiB of text", ErrMalformed, n.name)
				}
				n.text.Write(t)
			}
		}
	}
	if root == nil {
		return nil, fmt.Errorf("%w: no XML element: this is not a PSKC file", ErrMalformed)
	}
	return root, nil
}

// xmlErrorText keeps encoding/xml's line number and reason but not the text
// it quotes, which could be part of a secret.
func xmlErrorText(err error) string {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		msg := se.Msg
		if i := strings.IndexAny(msg, "\"'"); i >= 0 {
			msg = strings.TrimSpace(msg[:i])
		}
		return fmt.Sprintf("line %d: %s", se.Line, msg)
	}
	return "unreadable XML"
}

// child returns the first child element named name, or nil.
func (n *node) child(name string) *node {
	if n == nil {
		return nil
	}
	for _, c := range n.children {
		if c.name == name {
			return c
		}
	}
	return nil
}

// all returns the child elements named name.
func (n *node) all(name string) []*node {
	if n == nil {
		return nil
	}
	var out []*node
	for _, c := range n.children {
		if c.name == name {
			out = append(out, c)
		}
	}
	return out
}

// path follows child names; nil when any step is missing.
func (n *node) path(names ...string) *node {
	for _, name := range names {
		n = n.child(name)
	}
	return n
}

// attr returns an attribute's value by local name.
func (n *node) attr(name string) (string, bool) {
	if n == nil {
		return "", false
	}
	for _, a := range n.attrs {
		if a.Name.Local == name {
			return strings.TrimSpace(a.Value), true
		}
	}
	return "", false
}

// value is the element's trimmed text; "" for a missing element.
func (n *node) value() string {
	if n == nil {
		return ""
	}
	return strings.TrimSpace(n.text.String())
}
