//go:build !linux && !windows

package atomicfile

// renameNoReplace renames from to to unless to exists (fs.ErrExist).
func renameNoReplace(from, to string) error { return linkNoReplace(from, to) }
