package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"reflect"
	"strconv"
)

// CorruptError reports a state document that cannot be parsed or whose
// structure is inconsistent (FS-5). The command that meets it must stop and
// must not overwrite the file.
type CorruptError struct {
	// Path is the state file, or "" when the document did not come from a
	// file.
	Path string
	// Problem says what is wrong, e.g. "unexpected end of JSON input".
	Problem string
	// Line and Column locate a syntax or type error (1-based); both are 0
	// when the problem has no position, such as a structural inconsistency.
	Line, Column int
	// Offset is the byte offset of a syntax or type error, -1 when unknown.
	Offset int64
}

// Error returns a message for users: what is wrong, where, and what to do.
func (e *CorruptError) Error() string {
	var b bytes.Buffer
	b.WriteString("state file ")
	b.WriteString(e.name())
	b.WriteString(" is corrupt: ")
	b.WriteString(e.Problem)
	if e.Line > 0 {
		fmt.Fprintf(&b, " (line %d, column %d, byte offset %d)", e.Line, e.Column, e.Offset)
	}
	b.WriteString(". wsgwctl will not overwrite it. ")
	if e.Path != "" {
		fmt.Fprintf(&b, "Restore the previous state from %s (copy it over %s) or repair the file by hand, then run the command again.", e.Path+".backup", e.Path)
	} else {
		b.WriteString("Restore the previous state from its .backup file or repair the file by hand, then run the command again.")
	}
	return b.String()
}

func (e *CorruptError) name() string {
	if e.Path == "" {
		return "(unnamed)"
	}
	return e.Path
}

// VersionError reports a state document written by a newer wsgwctl, whose
// format version this binary does not support (FS-5).
type VersionError struct {
	// Path is the state file, or "" when the document did not come from a
	// file.
	Path string
	// Version is the format version found in the document.
	Version int
	// Supported is the newest format version this binary supports.
	Supported int
}

// Error returns a message for users: what is wrong, where, and what to do.
func (e *VersionError) Error() string {
	name := e.Path
	if name == "" {
		name = "(unnamed)"
	}
	return fmt.Sprintf("state file %s has format version %d, but this wsgwctl supports state format version %d at most. "+
		"It was written by a newer wsgwctl; wsgwctl will not overwrite it. Upgrade wsgwctl to a release that supports version %d and run the command again.",
		name, e.Version, e.Supported, e.Version)
}

// Decode reads one state document from r and checks its format version and
// structure. A document that cannot be parsed or is inconsistent yields a
// *CorruptError, one of a newer format a *VersionError; their Path is empty
// (Read fills it in).
func Decode(r io.Reader) (*State, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	return decodeBytes(data)
}

func decodeBytes(data []byte) (*State, error) {
	// The version is checked before anything else, since a newer format may
	// have a different shape.
	var header struct {
		Version *json.RawMessage `json:"version"`
	}
	if err := json.Unmarshal(data, &header); err != nil {
		return nil, corruptFromJSON(data, err)
	}
	if header.Version == nil {
		return nil, &CorruptError{Problem: `the "version" field is missing`, Offset: -1}
	}
	v, err := strconv.Atoi(string(*header.Version))
	if err != nil {
		return nil, &CorruptError{Problem: fmt.Sprintf(`the "version" field is %s, not an integer`, *header.Version), Offset: -1}
	}
	if v > Version {
		return nil, &VersionError{Version: v, Supported: Version}
	}
	if v < 1 {
		return nil, &CorruptError{Problem: fmt.Sprintf(`the "version" field is %d; versions start at 1`, v), Offset: -1}
	}

	var st State
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, corruptFromJSON(data, err)
	}
	if err := st.Validate(); err != nil {
		return nil, &CorruptError{Problem: err.Error(), Offset: -1}
	}
	return &st, nil
}

// corruptFromJSON turns an encoding/json error into a CorruptError with a
// line and column when the error carries an offset.
func corruptFromJSON(data []byte, err error) *CorruptError {
	ce := &CorruptError{Problem: err.Error(), Offset: -1}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		ce.Offset = syn.Offset
		if syn.Offset >= int64(len(data)) {
			ce.Problem = "unexpected end of JSON input (the file looks truncated)"
		}
	case errors.As(err, &typ):
		ce.Offset = typ.Offset
		if typ.Field == "" {
			ce.Problem = fmt.Sprintf("the document is a JSON %s, not %s", typ.Value, jsonKind(typ.Type))
		} else {
			ce.Problem = fmt.Sprintf("%s is a JSON %s, not %s", typ.Field, typ.Value, jsonKind(typ.Type))
		}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		ce.Problem = "the file is empty"
		ce.Offset = -1
		return ce
	}
	if ce.Offset >= 0 {
		ce.Line, ce.Column = lineColumn(data, ce.Offset)
	}
	return ce
}

// jsonKind names the JSON value a Go type is decoded from.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "a different value"
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "a " + t.String()
}

// lineColumn converts a byte offset into a 1-based line and column (in bytes).
func lineColumn(data []byte, offset int64) (line, column int) {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	before := data[:offset]
	line = bytes.Count(before, []byte{'\n'}) + 1
	column = len(before) - bytes.LastIndexByte(before, '\n')
	return line, column
}

// Encode writes s to w as indented JSON followed by a newline. The output is
// deterministic: the same state always encodes to the same bytes. HTML
// characters are not escaped, so templates stay readable.
func Encode(w io.Writer, s *State) error {
	if s == nil {
		return errors.New("encode state: no state")
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	return nil
}

// Marshal returns the encoding of s that Encode writes.
func Marshal(s *State) ([]byte, error) {
	var b bytes.Buffer
	if err := Encode(&b, s); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Read reads and decodes the state file at path. It returns (nil, nil) when
// the file does not exist. Errors about the document's content are a
// *CorruptError or *VersionError naming path.
func Read(path string) (*State, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state: %w", err)
	}
	return DecodeFile(path, data)
}

// DecodeFile decodes data read from the file at path; errors about its
// content name path.
func DecodeFile(path string, data []byte) (*State, error) {
	st, err := decodeBytes(data)
	if err != nil {
		var ce *CorruptError
		var ve *VersionError
		switch {
		case errors.As(err, &ce):
			ce.Path = path
		case errors.As(err, &ve):
			ve.Path = path
		}
		return nil, err
	}
	return st, nil
}

// Clone returns a deep copy of s (nil for nil).
func (s *State) Clone() *State {
	if s == nil {
		return nil
	}
	data, err := json.Marshal(s)
	if err != nil {
		// Every field of State marshals; a failure here is a programming
		// error in the model types.
		panic(fmt.Sprintf("clone state: %v", err))
	}
	var c State
	if err := json.Unmarshal(data, &c); err != nil {
		panic(fmt.Sprintf("clone state: %v", err))
	}
	return &c
}
