package document

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// wordML is the namespace of the WordprocessingML elements read here
// (ECMA-376 Part 1, §17).
const wordML = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"

// docxText returns the text of word/document.xml: one line per paragraph
// (w:p), text runs (w:t) as they are, w:tab as a tab and w:br / w:cr as a
// line break.
func docxText(data []byte) (string, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return "", fmt.Errorf("document: read docx: %w", err)
	}
	var body *zip.File
	for _, f := range zr.File {
		if f.Name == "word/document.xml" {
			body = f
			break
		}
	}
	if body == nil {
		return "", errors.New("document: read docx: word/document.xml is missing")
	}
	rc, err := body.Open()
	if err != nil {
		return "", fmt.Errorf("document: read docx: %w", err)
	}
	defer rc.Close()
	// The limit guards against a zip bomb; the XML of a 4.5 MB docx is
	// rarely more than a few times its compressed size.
	d := xml.NewDecoder(io.LimitReader(rc, 4*maxText))
	var (
		b     strings.Builder
		inT   bool
		inDoc bool
	)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", fmt.Errorf("document: read docx: word/document.xml: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Space != wordML {
				continue
			}
			switch t.Name.Local {
			case "document":
				inDoc = true
			case "t":
				inT = true
			case "tab":
				b.WriteByte('\t')
			case "br", "cr":
				b.WriteByte('\n')
			}
		case xml.EndElement:
			if t.Name.Space != wordML {
				continue
			}
			switch t.Name.Local {
			case "t":
				inT = false
			case "p":
				b.WriteByte('\n')
			}
		case xml.CharData:
			if inT {
				b.Write(t)
			}
		}
		if b.Len() > maxText {
			return "", fmt.Errorf("document: read docx: the text is longer than %d bytes", maxText)
		}
	}
	if !inDoc {
		return "", errors.New("document: read docx: word/document.xml is not a WordprocessingML document")
	}
	return b.String(), nil
}
