package document

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
)

// xlsxText returns the text of every worksheet of an Office Open XML
// workbook (ECMA-376 Part 1, §18): each sheet as a "Sheet: <name>" line
// followed by its rows, one per line, cells joined with ", " as csvText
// renders CSV. Shared strings, inline strings, numbers and booleans are read
// as the file stores them (cached formula results included); formatting is
// not applied, so a date is its serial number.
func xlsxText(data []byte) (string, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return "", fmt.Errorf("document: read xlsx: %w", err)
	}
	files := make(map[string]*zip.File, len(zr.File))
	for _, f := range zr.File {
		files[f.Name] = f
	}
	var wb struct {
		Sheets []struct {
			Name string `xml:"name,attr"`
			RID  string `xml:"http://schemas.openxmlformats.org/officeDocument/2006/relationships id,attr"`
		} `xml:"sheets>sheet"`
	}
	if err := xlsxDecode(files, "xl/workbook.xml", &wb); err != nil {
		return "", err
	}
	var rels struct {
		Rels []struct {
			ID     string `xml:"Id,attr"`
			Target string `xml:"Target,attr"`
		} `xml:"Relationship"`
	}
	if err := xlsxDecode(files, "xl/_rels/workbook.xml.rels", &rels); err != nil {
		return "", err
	}
	targets := map[string]string{}
	for _, r := range rels.Rels {
		t := strings.TrimPrefix(r.Target, "/")
		if !strings.HasPrefix(t, "xl/") {
			t = path.Join("xl", t)
		}
		targets[r.ID] = t
	}
	var shared []string
	if _, ok := files["xl/sharedStrings.xml"]; ok {
		var sst struct {
			Items []xlsxRichText `xml:"si"`
		}
		if err := xlsxDecode(files, "xl/sharedStrings.xml", &sst); err != nil {
			return "", err
		}
		for _, it := range sst.Items {
			shared = append(shared, it.String())
		}
	}
	var b strings.Builder
	for _, s := range wb.Sheets {
		target, ok := targets[s.RID]
		if !ok {
			return "", fmt.Errorf("document: read xlsx: sheet %q has no part", s.Name)
		}
		var ws struct {
			Rows []struct {
				Cells []struct {
					Ref    string       `xml:"r,attr"`
					Type   string       `xml:"t,attr"`
					Value  string       `xml:"v"`
					Inline xlsxRichText `xml:"is"`
				} `xml:"c"`
			} `xml:"sheetData>row"`
		}
		if err := xlsxDecode(files, target, &ws); err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "Sheet: %s\n", s.Name)
		for _, row := range ws.Rows {
			var cells []string
			for _, c := range row.Cells {
				if col, ok := xlsxColumn(c.Ref); ok && col < 1<<14 {
					for len(cells) < col { // keep empty columns in place
						cells = append(cells, "")
					}
				}
				v := c.Value
				switch c.Type {
				case "s":
					i, err := strconv.Atoi(c.Value)
					if err != nil || i < 0 || i >= len(shared) {
						return "", fmt.Errorf("document: read xlsx: cell %s refers to shared string %q, which does not exist", c.Ref, c.Value)
					}
					v = shared[i]
				case "inlineStr":
					v = c.Inline.String()
				case "b":
					v = map[string]string{"1": "TRUE", "0": "FALSE"}[c.Value]
				}
				cells = append(cells, v)
			}
			b.WriteString(strings.Join(cells, ", "))
			b.WriteByte('\n')
			if b.Len() > maxText {
				return "", errors.New("document: read xlsx: the text is too long")
			}
		}
	}
	return b.String(), nil
}

// xlsxRichText is a string item: plain (<t>) or rich text runs (<r><t>).
type xlsxRichText struct {
	T    string   `xml:"t"`
	Runs []string `xml:"r>t"`
}

func (r xlsxRichText) String() string { return r.T + strings.Join(r.Runs, "") }

// xlsxColumn returns the 0-based column of a cell reference such as "C7".
func xlsxColumn(ref string) (int, bool) {
	col := 0
	n := 0
	for n < len(ref) && ref[n] >= 'A' && ref[n] <= 'Z' {
		col = col*26 + int(ref[n]-'A'+1)
		n++
		if n > 3 {
			return 0, false
		}
	}
	if n == 0 {
		return 0, false
	}
	return col - 1, true
}

// xlsxDecode decodes one XML part of the package, bounded like docxText.
func xlsxDecode(files map[string]*zip.File, name string, v any) error {
	f, ok := files[name]
	if !ok {
		return fmt.Errorf("document: read xlsx: %s is missing", name)
	}
	rc, err := f.Open()
	if err != nil {
		return fmt.Errorf("document: read xlsx: %w", err)
	}
	defer rc.Close()
	if err := xml.NewDecoder(io.LimitReader(rc, 4*maxText)).Decode(v); err != nil {
		return fmt.Errorf("document: read xlsx: %s: %w", name, err)
	}
	return nil
}
