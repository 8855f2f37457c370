package export

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"

	"github.com/rcbs/rcbs/archive"
)

// Page geometry of call-info.pdf, A4 portrait, in millimetres.
const (
	pageMargin = 15.0
	labelWidth = 32.0
	lineHeight = 5.0
	pageBottom = 297.0 - pageMargin - lineHeight
)

// CallInfoPDF makes call-info.pdf: one A4 page with the call's information
// (innovaphone's zip carries the same beside the audio). The core fonts
// (no file to embed, the PDF stays ~2 KB) speak Windows-1252, which covers
// the Western European names of a contact centre ("Zoë Müller"); a
// character outside it prints as "?". A history too long for the page ends
// with a line saying how many events are only in recording.json.
func CallInfoPDF(info archive.Info, media []MediaSummary, decrypted bool) ([]byte, error) {
	p := &page{pdf: fpdf.New("P", "mm", "A4", "")}
	p.tr = p.pdf.UnicodeTranslatorFromDescriptor("")
	p.pdf.SetMargins(pageMargin, pageMargin, pageMargin)
	p.pdf.SetAutoPageBreak(false, pageMargin)
	p.pdf.SetTitle("Call information "+info.ID, true)
	p.pdf.SetCreator("rcbs", true)
	p.pdf.AddPage()

	p.heading(16, "Call information")
	p.field("Recording", info.ID)
	p.field("Start", stamp(info.Start))
	p.field("Stop", stamp(info.Stop))
	p.field("Duration", duration(info))
	p.field("Direction", info.Direction)
	p.field("ANI", info.ANI)
	p.field("DNIS", info.DNIS)
	p.field("Agents", strings.Join(info.Agents, ", "))
	p.field("Tenant", info.Tenant)

	p.pdf.Ln(3)
	p.heading(12, fmt.Sprintf("Media (%d)", len(media)))
	for _, m := range media {
		p.media(m, decrypted)
	}
	p.pdf.Ln(3)
	p.heading(12, fmt.Sprintf("Event history (%d)", len(info.Events)))
	p.events(info.Events)
	var buf bytes.Buffer
	if err := p.pdf.Output(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

type page struct {
	pdf *fpdf.Fpdf
	tr  func(string) string
}

// text converts UTF-8 to the core fonts' cp1252; the translator marks what
// it cannot map with ".", which would read as punctuation, so "?" instead.
func (p *page) text(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch t := p.tr(string(r)); {
		case r < 0x80:
			b.WriteRune(r)
		case t == ".":
			b.WriteByte('?')
		default:
			b.WriteString(t)
		}
	}
	return b.String()
}

func (p *page) heading(size float64, s string) {
	p.pdf.SetFont("Helvetica", "B", size)
	p.pdf.CellFormat(0, size*0.5, p.text(s), "", 1, "L", false, 0, "")
	p.pdf.Ln(1)
}

func (p *page) field(label, value string) {
	if value == "" {
		value = "-"
	}
	p.pdf.SetFont("Helvetica", "B", 10)
	p.pdf.CellFormat(labelWidth, lineHeight, p.text(label), "", 0, "L", false, 0, "")
	p.pdf.SetFont("Helvetica", "", 10)
	p.pdf.MultiCell(0, lineHeight, p.text(value), "", "L", false)
}

func (p *page) media(m MediaSummary, decrypted bool) {
	if p.pdf.GetY() > pageBottom-4*lineHeight {
		return
	}
	p.pdf.SetFont("Helvetica", "B", 10)
	p.pdf.MultiCell(0, lineHeight, p.text(m.Name), "", "L", false)
	p.pdf.SetFont("Helvetica", "", 10)
	desc := fmt.Sprintf("%s, %s", orDash(m.Type), size(m.Size))
	if decrypted {
		desc += fmt.Sprintf(" decrypted; stored as %s, %s", m.File, size(m.StoredSize))
	}
	p.small(desc)
	p.pdf.SetFont("Courier", "", 8)
	p.small("sha256        " + hex.EncodeToString(m.SHA256[:]))
	if decrypted {
		p.small("stored sha256 " + hex.EncodeToString(m.StoredSHA256[:]))
	}
}

func (p *page) small(s string) {
	p.pdf.SetX(pageMargin + 4)
	p.pdf.MultiCell(0, 4.5, p.text(s), "", "L", false)
}

func (p *page) events(events []archive.Event) {
	for i, ev := range events {
		if p.pdf.GetY() > pageBottom-lineHeight && i < len(events)-1 {
			p.pdf.SetFont("Helvetica", "I", 10)
			p.pdf.CellFormat(0, lineHeight, fmt.Sprintf("... %d more events: see recording.json", len(events)-i), "", 1, "L", false, 0, "")
			return
		}
		p.pdf.SetFont("Helvetica", "", 10)
		p.pdf.CellFormat(48, lineHeight, stamp(ev.Time), "", 0, "L", false, 0, "")
		p.pdf.CellFormat(60, lineHeight, p.text(orDash(ev.Name)), "", 0, "L", false, 0, "")
		p.pdf.CellFormat(0, lineHeight, p.text(ev.AgentID), "", 1, "L", false, 0, "")
	}
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func duration(info archive.Info) string {
	d := info.Duration()
	if d == 0 {
		return ""
	}
	return fmt.Sprintf("%s (%d s)", d.Round(time.Second), int64(d.Round(time.Second)/time.Second))
}

func size(n int64) string {
	return fmt.Sprintf("%d bytes", n)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
