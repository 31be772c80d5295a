package custom

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// SaveJSON writes v as indented JSON to path atomically: a temporary file
// in the same directory, synced, renamed over the old one. A crash leaves
// the old file or the new one, never half of either.
func SaveJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	_, werr := f.Write(append(data, '\n'))
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("save %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("save %s: %w", path, err)
	}
	return nil
}

// LoadJSON reads the JSON file at path into v; found is false (and v
// untouched) when there is no file.
func LoadJSON(path string, v any) (found bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("load %s: %w", path, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, fmt.Errorf("load %s: not a data file of this sandbox: %w", path, err)
	}
	return true, nil
}

// LoadData reads a system's data file at path into snap, as LoadJSON
// does, and then checks that version, the field of snap that holds the
// file's format version, reads want.
func LoadData(path string, snap any, version *int, want int) (found bool, err error) {
	if found, err = LoadJSON(path, snap); err != nil || !found {
		return false, err
	}
	if *version != want {
		return false, fmt.Errorf("load %s: data file version %d, this sandbox reads %d: move the file away to start empty", path, *version, want)
	}
	return true, nil
}

// Saver writes a system's data file when it changed, every interval, on a
// goroutine of its own, until Stop.
type Saver struct {
	stop, done chan struct{}
}

// StartSaver calls saveIfChanged every interval until Stop.
func StartSaver(interval time.Duration, saveIfChanged func()) *Saver {
	s := &Saver{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				saveIfChanged()
			}
		}
	}()
	return s
}

// Stop ends the saver's goroutine and waits for it.
func (s *Saver) Stop() {
	close(s.stop)
	<-s.done
}
