package plan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/wsgwctl/wsgwctl/config/model"
	"github.com/wsgwctl/wsgwctl/state"
)

// planMagic is the value of a saved plan's "wsgwctl_plan" member, which
// tells a plan file from any other JSON document.
const planMagic = "wsgwctl saved plan"

// file is the saved plan document.
type file struct {
	Magic         string              `json:"wsgwctl_plan"`
	FormatVersion int                 `json:"format_version"`
	PriorLineage  string              `json:"prior_lineage"`
	PriorSerial   uint64              `json:"prior_serial"`
	ConfigHash    string              `json:"config_hash"`
	Desired       *model.Config       `json:"desired"`
	Changes       []*ResourceChange   `json:"changes"`
	Deployments   []*DeploymentChange `json:"deployments"`
	Problems      []*Problem          `json:"problems,omitempty"`
	NewState      *state.State        `json:"new_state"`
}

// Encode writes p to w as a saved plan: a JSON document with a magic member
// and a format version, holding everything apply needs (the desired
// configuration with its secrets, the prior lineage and serial, the changes
// and the proposed state). The caller writes it to a file only its owner can
// read (mode 0600, D-20).
func Encode(w io.Writer, p *Plan) error {
	if p == nil || p.NewState == nil {
		return errors.New("encode plan: no plan")
	}
	f := file{
		Magic:         planMagic,
		FormatVersion: p.FormatVersion,
		PriorLineage:  p.PriorLineage,
		PriorSerial:   p.PriorSerial,
		ConfigHash:    p.ConfigHash,
		Desired:       p.Desired,
		Changes:       p.Changes,
		Deployments:   p.Deployments,
		Problems:      p.Problems,
		NewState:      p.NewState,
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&f); err != nil {
		return fmt.Errorf("encode plan: %w", err)
	}
	return nil
}

// Decode reads a saved plan written by Encode. It rejects a document that is
// not a wsgwctl plan, one of a format version this binary does not support,
// and one whose configuration does not match its recorded hash.
func Decode(r io.Reader) (*Plan, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read plan: %w", err)
	}
	var header struct {
		Magic         string          `json:"wsgwctl_plan"`
		FormatVersion json.RawMessage `json:"format_version"`
	}
	if err := json.Unmarshal(data, &header); err != nil || header.Magic != planMagic {
		return nil, errors.New("decode plan: this is not a wsgwctl plan file; create one with `wsgwctl plan --out FILE`")
	}
	var version int
	if err := json.Unmarshal(header.FormatVersion, &version); err != nil {
		return nil, fmt.Errorf("decode plan: the plan file's format_version %s is not an integer", header.FormatVersion)
	}
	if version < 1 || version > FormatVersion {
		return nil, fmt.Errorf("decode plan: the plan file has format version %d, but this wsgwctl reads version %d; make the plan again with this wsgwctl", version, FormatVersion)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var f file
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("decode plan: the plan file is damaged: %w", err)
	}
	if f.NewState == nil {
		return nil, errors.New("decode plan: the plan file is damaged: it has no proposed state")
	}
	if f.Desired == nil {
		f.Desired = &model.Config{}
	}
	if h := ConfigHash(f.Desired); h != f.ConfigHash {
		return nil, errors.New("decode plan: the plan file is damaged: its configuration does not match the hash recorded in it")
	}
	return &Plan{
		FormatVersion: f.FormatVersion,
		PriorLineage:  f.PriorLineage,
		PriorSerial:   f.PriorSerial,
		ConfigHash:    f.ConfigHash,
		Desired:       f.Desired,
		Changes:       f.Changes,
		Deployments:   f.Deployments,
		Problems:      f.Problems,
		NewState:      f.NewState,
	}, nil
}
