package games

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"gorgonia.org/tensor"

	"github.com/learnviews/learnviews/contrast"
	"github.com/learnviews/learnviews/nn"
)

// banksFile holds the estimator's memory banks in a checkpoint.
const banksFile = "banks.safetensors"

// SaveState writes the estimator's memory banks, if it has any: each bank's
// entries and the state of the source it draws negatives from.
func (gm *ViewGame) SaveState(dir string) ([]string, error) {
	b := gm.Estimator.Banks
	if b == nil {
		return nil, nil
	}
	meta := map[string]string{}
	var ts []nn.NamedTensor
	for _, bank := range []struct {
		name string
		m    *contrast.MemoryBank
	}{{"bank.v1", b.V1}, {"bank.v2", b.V2}} {
		st, err := bank.m.RandState()
		if err != nil {
			return nil, err
		}
		meta[bank.name+".rand"] = base64.StdEncoding.EncodeToString(st)
		w, err := json.Marshal(bank.m.Written())
		if err != nil {
			return nil, err
		}
		meta[bank.name+".written"] = string(w)
		ts = append(ts, nn.NamedTensor{Name: bank.name, Tensor: bank.m.Tensor()})
	}
	if err := nn.SaveSafetensors(filepath.Join(dir, banksFile), ts, meta); err != nil {
		return nil, err
	}
	return []string{banksFile}, nil
}

// LoadState reads the memory banks that SaveState wrote.
func (gm *ViewGame) LoadState(dir string) error {
	b := gm.Estimator.Banks
	if b == nil {
		return nil
	}
	path := filepath.Join(dir, banksFile)
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("the estimator has memory banks but the checkpoint does not: %w", err)
	}
	ts, _, meta, err := nn.LoadSafetensors(path)
	if err != nil {
		return err
	}
	for _, bank := range []struct {
		name string
		m    *contrast.MemoryBank
	}{{"bank.v1", b.V1}, {"bank.v2", b.V2}} {
		t, ok := ts[bank.name]
		if !ok {
			return fmt.Errorf("%s: no tensor %q", path, bank.name)
		}
		st, err := base64.StdEncoding.DecodeString(meta[bank.name+".rand"])
		if err != nil {
			return fmt.Errorf("%s: metadata %q: %w", path, bank.name+".rand", err)
		}
		if t.Dtype() != tensor.Float32 {
			return fmt.Errorf("%s: tensor %q is %v, want float32", path, bank.name, t.Dtype())
		}
		var written []int
		if err := json.Unmarshal([]byte(meta[bank.name+".written"]), &written); err != nil {
			return fmt.Errorf("%s: metadata %q: %w", path, bank.name+".written", err)
		}
		if err := bank.m.Restore(t, written, st); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	return nil
}
