package document

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/ledongthuc/pdf"
)

// Bounds on the page tree (ISO 32000-1 §7.7.3). Real documents are a few
// levels deep; a malformed one may loop (a Kids or Parent entry pointing
// back up the tree), and the PDF reader would follow it forever.
const (
	maxPageTreeDepth = 64
	maxPageTreeNodes = 100_000
)

var errPageTree = errors.New("the page tree is malformed")

// pdfText returns the text of every page, in page order.
//
// The PDF reader reports some malformed input by panicking (its parser
// uses panics internally and not every path recovers); a document is user
// input, so the panic is turned into an error here rather than taking the
// server down. The page tree is walked here, with bounds, instead of by
// the reader's own page lookup, which does not survive cycles.
func pdfText(data []byte) (text string, err error) {
	defer func() {
		if r := recover(); r != nil {
			text, err = "", fmt.Errorf("document: read pdf: malformed PDF: %v", r)
		}
	}()
	r, err := pdf.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return "", fmt.Errorf("document: read pdf: %w", err)
	}
	var pages []pdf.Page
	nodes := 0
	if err := collectPages(r.Trailer().Key("Root").Key("Pages"), 0, &nodes, &pages); err != nil {
		return "", fmt.Errorf("document: read pdf: %w", err)
	}
	if len(pages) == 0 {
		return "", errors.New("document: read pdf: the PDF has no pages")
	}
	var b strings.Builder
	for _, p := range pages {
		s, err := p.GetPlainText(nil)
		if err != nil {
			return "", fmt.Errorf("document: read pdf: %w", err)
		}
		b.WriteString(s)
		if b.Len() > maxText {
			return "", fmt.Errorf("document: read pdf: the text is longer than %d bytes", maxText)
		}
	}
	return strings.TrimSpace(b.String()) + "\n", nil
}

// collectPages appends the leaf pages under node to pages, in order.
func collectPages(node pdf.Value, depth int, nodes *int, pages *[]pdf.Page) error {
	*nodes++
	if depth > maxPageTreeDepth || *nodes > maxPageTreeNodes {
		return errPageTree
	}
	switch node.Key("Type").Name() {
	case "Pages":
		kids := node.Key("Kids")
		for i := range kids.Len() {
			if err := collectPages(kids.Index(i), depth+1, nodes, pages); err != nil {
				return err
			}
		}
	case "Page":
		// Inherited attributes (Resources) are found by following Parent;
		// a cycle there would never end either.
		n := 0
		for p := node.Key("Parent"); !p.IsNull(); p = p.Key("Parent") {
			if n++; n > maxPageTreeDepth {
				return errPageTree
			}
		}
		*pages = append(*pages, pdf.Page{V: node})
	}
	return nil
}
