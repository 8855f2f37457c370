package config

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// folderPart is one piece of a parsed recordingFolderFormat: a Go time
// layout fragment ("2006", "01", …), a literal, or the "/" separator.
type folderPart struct {
	layout  string // Go layout for a date field; "" for literals
	literal string
}

// dateLayout maps the Java SimpleDateFormat fields rcbs supports to Go
// layouts. Other Java letters (yy, M, E, a, …) are refused rather than
// guessed: a wrong guess would scatter recordings over new folders.
func dateLayout(letters string) (string, bool) {
	switch letters {
	case "yyyy":
		return "2006", true
	case "MM":
		return "01", true
	case "dd":
		return "02", true
	case "HH":
		return "15", true
	case "mm":
		return "04", true
	}
	return "", false
}

const folderHelp = "use the date letters yyyy MM dd HH mm, / between folders, and literal 0-9 - _ . or 'quoted text'"

// parseFolderFormat checks and parses a recordingFolderFormat. Every folder
// it can produce is a safe relative path: no empty, "." or ".." segment, no
// leading "/", no character outside [A-Za-z0-9._-].
func parseFolderFormat(f string) ([]folderPart, error) {
	var parts []folderPart
	for i := 0; i < len(f); {
		part, n, err := nextFolderPart(f[i:])
		if err != nil {
			return nil, err
		}
		parts = append(parts, part)
		i += n
	}
	if err := checkSegments(parts); err != nil {
		return nil, err
	}
	return parts, nil
}

// nextFolderPart reads one part at the start of s and its length in bytes.
func nextFolderPart(s string) (folderPart, int, error) {
	c := s[0]
	switch {
	case c == '/':
		return folderPart{literal: "/"}, 1, nil
	case c == '\'':
		return quotedPart(s)
	case isLetter(c):
		n := 1
		for n < len(s) && s[n] == c {
			n++
		}
		if layout, ok := dateLayout(s[:n]); ok {
			return folderPart{layout: layout}, n, nil
		}
		return folderPart{}, 0, fmt.Errorf("has unsupported date letters %q: %s", s[:n], folderHelp)
	case isSafeLiteral(c) && !isLetter(c):
		return folderPart{literal: s[:1]}, 1, nil
	}
	r := []rune(s)[0]
	return folderPart{}, 0, fmt.Errorf("has the character %q: %s", r, folderHelp)
}

// quotedPart reads a Java-style 'literal' of safe characters.
func quotedPart(s string) (folderPart, int, error) {
	end := strings.IndexByte(s[1:], '\'')
	if end < 0 {
		return folderPart{}, 0, fmt.Errorf("has an unterminated quote: %s", folderHelp)
	}
	lit := s[1 : 1+end]
	if lit == "" {
		return folderPart{}, 0, fmt.Errorf("has an empty quoted text '': %s", folderHelp)
	}
	for i := 0; i < len(lit); i++ {
		if !isSafeLiteral(lit[i]) {
			return folderPart{}, 0, fmt.Errorf("has the character %q in quoted text: %s", []rune(lit[i:])[0], folderHelp)
		}
	}
	return folderPart{literal: lit}, end + 2, nil
}

// checkSegments refuses empty, "." and ".." folders (absolute paths and
// escapes from targetDir) and more than 16 levels.
func checkSegments(parts []folderPart) error {
	segs := [][]folderPart{nil}
	for _, p := range parts {
		if p.layout == "" && p.literal == "/" {
			segs = append(segs, nil)
			continue
		}
		segs[len(segs)-1] = append(segs[len(segs)-1], p)
	}
	if len(segs) > 16 {
		return errors.New("has more than 16 folder levels")
	}
	for _, seg := range segs {
		text := formatParts(seg, time.Time{})
		switch {
		case len(seg) == 0:
			return errors.New("has an empty folder name (a leading, trailing or double /)")
		case strings.Trim(text, ".") == "":
			return fmt.Errorf("has the folder name %q, which would leave targetDir", text)
		}
	}
	return nil
}

func formatParts(parts []folderPart, t time.Time) string {
	var b strings.Builder
	for _, p := range parts {
		if p.layout != "" {
			b.WriteString(t.Format(p.layout))
		} else {
			b.WriteString(p.literal)
		}
	}
	return b.String()
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func isSafeLiteral(c byte) bool {
	return isLetter(c) || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.'
}

func defaultFolder() []folderPart {
	p, _ := parseFolderFormat(DefaultRecordingFolderFormat)
	return p
}

// FolderFor returns the folder, relative to targetDir and with "/"
// separators, of a recording that started at t: recordingFolderFormat
// applied to t in GMT (the recording's id folder goes below it). A Config
// not made by Load (e.g. a test's literal) has its format parsed on each
// call, falling back to the default when it is invalid.
func (c *Config) FolderFor(t time.Time) string {
	parts := c.folder
	if parts == nil {
		var err error
		if parts, err = parseFolderFormat(c.RecordingFolderFormat); err != nil || c.RecordingFolderFormat == "" {
			parts = defaultFolder()
		}
	}
	return formatParts(parts, t.UTC())
}
