package document

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// tinyPDF builds a one-page PDF showing text in Helvetica with a Tj
// operator, with the xref offsets computed from the bytes written.
func tinyPDF(text string) []byte {
	content := fmt.Sprintf("BT /F1 12 Tf 72 712 Td (%s) Tj ET", text)
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

// tinyDocx builds a docx whose document.xml holds body (the children of
// w:body).
func tinyDocx(body string) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	files := []struct{ name, data string }{
		{"[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`},
		{"word/document.xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>` + body + `</w:body></w:document>`},
	}
	for _, f := range files {
		w, err := zw.Create(f.name)
		if err != nil {
			panic(err)
		}
		w.Write([]byte(f.data))
	}
	if err := zw.Close(); err != nil {
		panic(err)
	}
	return b.Bytes()
}

func TestText(t *testing.T) {
	tests := []struct {
		name   string
		format string
		data   []byte
		want   string
	}{
		{"txt is returned as it is", "txt", []byte("Hello,\n  world"), "Hello,\n  world"},
		{"md is returned as it is", "md", []byte("# Title\n\n* item"), "# Title\n\n* item"},
		{"byte order mark is dropped", "txt", []byte("\uFEFFhi"), "hi"},
		{"csv with a stray quote is read leniently", "csv", []byte("a,b\"c\n"), "a, b\"c\n"},
		{"csv records become lines of comma-joined fields", "csv", []byte("name,age\n\"Doe, Jane\",41\nBob\n"), "name, age\nDoe, Jane, 41\nBob\n"},
		{"html keeps visible text only", "html", []byte(`<html><head><title>T</title><style>p{}</style></head><body><h1>Big  news</h1><p>Rome is <b>old</b>.</p><script>alert(1)</script><p>A&amp;B</p></body></html>`), "Big news\nRome is old.\nA&B\n"},
		{"html line break starts a new line", "html", []byte(`one<br>two<br/>three`), "one\ntwo\nthree\n"},
		{"pdf yields the page text", "pdf", tinyPDF("Rome is the capital of Italy."), "Rome is the capital of Italy.\n"},
		{"docx paragraphs become lines", "docx", tinyDocx(`<w:p><w:r><w:t>First</w:t></w:r><w:r><w:tab/><w:t xml:space="preserve"> para</w:t></w:r></w:p><w:p><w:r><w:t>Second</w:t><w:br/><w:t>line</w:t></w:r></w:p>`), "First\t para\nSecond\nline\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Text(tt.format, tt.data)
			if err != nil {
				t.Fatalf("Text: %v", err)
			}
			if got != tt.want {
				t.Errorf("Text = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTextErrors(t *testing.T) {
	tests := []struct {
		name        string
		format      string
		data        []byte
		unsupported bool   // the error wraps ErrUnsupportedFormat
		contains    string // the error names the problem
	}{
		{"xlsx that is not a zip", "xlsx", []byte("PK"), false, "xlsx"},
		{"xlsx without a workbook", "xlsx", tinyZip(map[string]string{"x.xml": "<a/>"}), false, "xl/workbook.xml is missing"},
		{"xlsx with a dangling shared string", "xlsx", tinyXlsx(map[string]string{"xl/sharedStrings.xml": `<sst><si><t>a</t></si></sst>`},
			`<row r="1"><c r="A1" t="s"><v>7</v></c></row>`), false, "shared string"},
		{"doc is not readable", "doc", []byte{0xd0, 0xcf}, true, "convert the document to docx"},
		{"xls that is not a workbook", "xls", []byte("hello"), false, "xls"},
		{"xls cut short", "xls", nil, false, "xls"},
		{"unknown format", "rtf", []byte("{\\rtf1}"), true, `"rtf"`},
		{"missing format", "", []byte("x"), true, "no format"},
		{"txt that is not UTF-8", "txt", []byte{0xff, 0xfe, 'a'}, false, "UTF-8"},
		{"csv that is not UTF-8", "csv", []byte{0xff}, false, "UTF-8"},
		{"pdf that is not a pdf", "pdf", []byte("hello"), false, "pdf"},
		{"pdf cut in half", "pdf", tinyPDF("Rome")[:200], false, "pdf"},
		{"docx that is not a zip", "docx", []byte("hello"), false, "zip"},
		{"docx without document.xml", "docx", func() []byte {
			var b bytes.Buffer
			zw := zip.NewWriter(&b)
			zw.Create("other.xml")
			zw.Close()
			return b.Bytes()
		}(), false, "word/document.xml is missing"},
		{"docx with broken xml", "docx", tinyDocx(`<w:p><w:t>unclosed`), false, "XML"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Text(tt.format, tt.data)
			if err == nil {
				t.Fatalf("Text = %q, want an error", got)
			}
			if errors.Is(err, ErrUnsupportedFormat) != tt.unsupported {
				t.Errorf("errors.Is(%v, ErrUnsupportedFormat) = %v, want %v", err, !tt.unsupported, tt.unsupported)
			}
			if !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("error %q does not mention %q", err, tt.contains)
			}
		})
	}
}

func FuzzText(f *testing.F) {
	for _, format := range []string{"txt", "csv", "html", "pdf", "docx", "xlsx", "xls"} {
		f.Add(format, []byte("a,b\n<p>x</p>"))
	}
	f.Add("pdf", tinyPDF("Hello"))
	f.Add("xlsx", tinyXlsx(nil, `<row r="1"><c r="A1" t="inlineStr"><is><t>Hi</t></is></c></row>`))
	f.Add("docx", tinyDocx(`<w:p><w:r><w:t>Hi</w:t></w:r></w:p>`))
	f.Fuzz(func(t *testing.T, format string, data []byte) {
		text, err := Text(format, data)
		if err != nil && text != "" {
			t.Errorf("Text returned text %q with error %v", text, err)
		}
	})
}

func BenchmarkTextPDF(b *testing.B) {
	data := tinyPDF("Rome is the capital of Italy.")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Text("pdf", data); err != nil {
			b.Fatal(err)
		}
	}
}
