package document

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/shakinm/xlsReader/xls"
)

// xlsText returns the text of every worksheet of a legacy binary Excel
// workbook (BIFF8 in an OLE2 container), laid out as xlsxText lays out
// xlsx. It reads with github.com/shakinm/xlsReader, the pure-Go reader
// go-dependencies.md names for .xls; that library can panic on malformed
// input, so a panic is turned into an error.
func xlsText(data []byte) (text string, err error) {
	defer func() {
		if r := recover(); r != nil {
			text, err = "", fmt.Errorf("document: read xls: the workbook is malformed (%v)", r)
		}
	}()
	wb, err := xls.OpenReader(bytes.NewReader(data))
	if err != nil {
		return "", fmt.Errorf("document: read xls: %w", err)
	}
	var b strings.Builder
	for i := range wb.GetNumberSheets() {
		s, err := wb.GetSheet(i)
		if err != nil {
			return "", fmt.Errorf("document: read xls: sheet %d: %w", i, err)
		}
		fmt.Fprintf(&b, "Sheet: %s\n", latin1(s.GetName()))
		for r := range s.GetNumberRows() {
			row, err := s.GetRow(r)
			if err != nil {
				return "", fmt.Errorf("document: read xls: %s row %d: %w", s.GetName(), r, err)
			}
			var cells []string
			for _, c := range row.GetCols() {
				cells = append(cells, latin1(c.GetString()))
			}
			b.WriteString(strings.TrimRight(strings.Join(cells, ", "), ", "))
			b.WriteByte('\n')
			if b.Len() > maxText {
				return "", errors.New("document: read xls: the text is too long")
			}
		}
	}
	return b.String(), nil
}

// latin1 repairs a string the reader returned as raw bytes: BIFF8 stores
// "compressed" strings as one byte per character (the low byte of UTF-16,
// i.e. Latin-1), which the reader passes through undecoded.
func latin1(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	r := make([]rune, len(s))
	for i := range len(s) {
		r[i] = rune(s[i])
	}
	return string(r)
}
