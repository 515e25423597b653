package document

import (
	"archive/zip"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// tinyZip builds a zip archive of the given files.
func tinyZip(files map[string]string) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for name, data := range files {
		w, _ := zw.Create(name)
		w.Write([]byte(data))
	}
	zw.Close()
	return b.Bytes()
}

// tinyXlsx builds a one-sheet workbook ("Prices") whose sheetData holds
// rows, plus any extra parts.
func tinyXlsx(extra map[string]string, rows string) []byte {
	files := map[string]string{
		"[Content_Types].xml": `<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>`,
		"xl/workbook.xml": `<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">` +
			`<sheets><sheet name="Prices" sheetId="1" r:id="rId1"/></sheets></workbook>`,
		"xl/_rels/workbook.xml.rels": `<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
			`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>`,
		"xl/worksheets/sheet1.xml": `<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>` + rows + `</sheetData></worksheet>`,
	}
	for k, v := range extra {
		files[k] = v
	}
	return tinyZip(files)
}

func TestXlsx(t *testing.T) {
	data := tinyXlsx(map[string]string{
		"xl/sharedStrings.xml": `<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>Item</t></si><si><t>Price</t></si><si><r><t>Caf</t></r><r><t>é</t></r></si></sst>`,
	}, `<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>`+
		`<row r="2"><c r="A2" t="inlineStr"><is><t>Tea</t></is></c><c r="B2"><v>2.5</v></c></row>`+
		`<row r="3"><c r="A3" t="s"><v>2</v></c><c r="C3" t="b"><v>1</v></c></row>`)
	got, err := Text("xlsx", data)
	if err != nil {
		t.Fatal(err)
	}
	const want = "Sheet: Prices\nItem, Price\nTea, 2.5\nCafé, , TRUE\n"
	if got != want {
		t.Errorf("Text(xlsx) = %q, want %q", got, want)
	}
}

// TestXls reads a workbook written by xlwt (Debian's python3-xlwt), the
// legacy BIFF8 format Excel 97–2003 writes. .ci/run installs it; without
// it the test is skipped.
func TestXls(t *testing.T) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import xlwt").Run(); err != nil {
		t.Skip("needs Debian's python3-xlwt to write a .xls file: apt-get install python3-xlwt")
	}
	path := filepath.Join(t.TempDir(), "t.xls")
	script := `
import sys, xlwt
wb = xlwt.Workbook()
ws = wb.add_sheet('Prices')
ws.write(0, 0, 'Item'); ws.write(0, 1, 'Price')
ws.write(1, 0, 'Tea'); ws.write(1, 1, 2.5)
ws.write(2, 0, 'Café'); ws.write(2, 2, 'x')
wb.add_sheet('Empty')
wb.save(sys.argv[1])
`
	if out, err := exec.Command(py, "-c", script, path).CombinedOutput(); err != nil {
		t.Fatalf("xlwt: %v\n%s", err, out)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Text("xls", data)
	if err != nil {
		t.Fatal(err)
	}
	const want = "Sheet: Prices\nItem, Price\nTea, 2.5\nCafé, , x\nSheet: Empty\n\n"
	if got != want {
		t.Errorf("Text(xls) = %q, want %q", got, want)
	}
}
