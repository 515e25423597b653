package document

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// ErrUnsupportedFormat reports a Bedrock document format whose text this
// package cannot extract (the legacy binary doc) or a format
// Bedrock does not define at all.
var ErrUnsupportedFormat = errors.New("document: unsupported format")

// maxText bounds the text extracted from one document. Bedrock accepts
// documents of at most 4.5 MB; a compressed format (docx) may expand far
// beyond that, and a zip bomb must not exhaust memory.
const maxText = 32 << 20

// Text returns the plain text of a document of the given Bedrock format
// (pdf, csv, doc, docx, xls, xlsx, html, txt, md; wire-protocol.md §3.3).
//
// txt and md are returned as they are (without a UTF-8 byte order mark) and
// must be valid UTF-8. csv is parsed and rendered one record per line, fields
// joined with ", ". html yields the visible text, without scripts and
// styles. pdf yields the text of every page. docx yields one line per
// paragraph. xlsx and xls yield each sheet's name and rows, cells joined
// with ", ". doc, and unknown formats, return an error wrapping
// ErrUnsupportedFormat that says what to convert the document to. Any other error says what is wrong with the
// data; Text never panics, whatever data holds.
func Text(format string, data []byte) (string, error) {
	switch format {
	case "txt", "md":
		return plain(format, data)
	case "csv":
		return csvText(data)
	case "html":
		return htmlText(data)
	case "pdf":
		return pdfText(data)
	case "docx":
		return docxText(data)
	case "xlsx":
		return xlsxText(data)
	case "xls":
		return xlsText(data)
	case "doc":
		// Legacy Word documents have no pure-Go reader
		// (go-dependencies.md need 12): callers answer with a
		// ValidationException that says what to send instead.
		return "", fmt.Errorf("%w: doc documents (the legacy binary Word format) can't be read; convert the document to docx, pdf or txt and try again", ErrUnsupportedFormat)
	case "":
		return "", fmt.Errorf("%w: the document has no format", ErrUnsupportedFormat)
	}
	return "", fmt.Errorf("%w: %q is not a document format", ErrUnsupportedFormat, format)
}

// plain returns UTF-8 text as it is.
func plain(format string, data []byte) (string, error) {
	if !utf8.Valid(data) {
		return "", fmt.Errorf("document: read %s: the text is not valid UTF-8", format)
	}
	return string(bytes.TrimPrefix(data, []byte("\uFEFF"))), nil
}

// csvText renders CSV records one per line with fields joined by ", ":
// easier for a model to read than quoted CSV, and the parse rejects data
// that is not CSV at all.
func csvText(data []byte) (string, error) {
	if !utf8.Valid(data) {
		return "", errors.New("document: read csv: the text is not valid UTF-8")
	}
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\uFEFF"))))
	r.FieldsPerRecord = -1 // spreadsheets export ragged rows
	r.LazyQuotes = true    // a stray quote should not make a document unreadable
	var b strings.Builder
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", fmt.Errorf("document: read csv: %w", err)
		}
		b.WriteString(strings.Join(rec, ", "))
		b.WriteByte('\n')
	}
	return b.String(), nil
}
