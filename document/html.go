package document

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// htmlText returns the text a browser would show: text nodes outside
// script, style, template, noscript and head elements, with block-level
// elements on their own lines and runs of white space collapsed.
func htmlText(data []byte) (string, error) {
	z := html.NewTokenizer(bytes.NewReader(data))
	var (
		b      strings.Builder
		hidden int  // depth inside elements whose text is not shown
		space  bool // a space is pending before the next word
	)
	newline := func() {
		s := b.String()
		if len(s) > 0 && !strings.HasSuffix(s, "\n") {
			b.WriteByte('\n')
		}
		space = false
	}
	for {
		switch z.Next() {
		case html.ErrorToken:
			if err := z.Err(); err != io.EOF {
				return "", fmt.Errorf("document: read html: %w", err)
			}
			return strings.TrimSpace(b.String()) + "\n", nil
		case html.TextToken:
			if hidden > 0 {
				continue
			}
			text := z.Text()
			if len(text) > 0 && isSpace(text[0]) {
				space = true
			}
			for i, w := range strings.Fields(string(text)) {
				if (i > 0 || space) && b.Len() > 0 && !strings.HasSuffix(b.String(), "\n") {
					b.WriteByte(' ')
				}
				b.WriteString(w)
				space = false
			}
			if len(text) > 0 && isSpace(text[len(text)-1]) {
				space = true
			}
			if b.Len() > maxText {
				return "", fmt.Errorf("document: read html: the text is longer than %d bytes", maxText)
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			if hides(a) && !isSelfClosing(z) {
				hidden++
			}
			if breaks(a) {
				newline()
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			if hides(a) && hidden > 0 {
				hidden--
			}
			if breaks(a) {
				newline()
			}
		}
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

// isSelfClosing is true for <x/>, which opens no element to hide text in.
func isSelfClosing(z *html.Tokenizer) bool {
	return bytes.HasSuffix(bytes.TrimSpace(z.Raw()), []byte("/>"))
}

// hides reports elements whose content is not visible text.
func hides(a atom.Atom) bool {
	switch a {
	case atom.Script, atom.Style, atom.Template, atom.Noscript, atom.Head, atom.Title, atom.Svg:
		return true
	}
	return false
}

// breaks reports elements that start a new line of text.
func breaks(a atom.Atom) bool {
	switch a {
	case atom.Br, atom.P, atom.Div, atom.Li, atom.Ul, atom.Ol, atom.Tr, atom.Table, atom.H1, atom.H2, atom.H3,
		atom.H4, atom.H5, atom.H6, atom.Pre, atom.Blockquote, atom.Section, atom.Article, atom.Header, atom.Footer,
		atom.Hr, atom.Dt, atom.Dd, atom.Body:
		return true
	}
	return false
}
