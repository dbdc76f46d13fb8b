package scenarios

import (
	"encoding/json"
	"fmt"
	. "github.com/onsi/ginkgo/v2" //nolint:revive
	"os"
	"path/filepath"
)

// TablesDir is where the data tables are: fixtures/scenarios, found from the
// working directory upwards unless set (tokenlab scenarios --tables DIR, or
// TOKENLAB_TABLES).
var TablesDir = os.Getenv("TOKENLAB_TABLES")

func tablesDir() (string, error) {
	if TablesDir != "" {
		return TablesDir, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "fixtures", "scenarios")
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no fixtures/scenarios above the working directory: run from the repository or give --tables DIR")
		}
		dir = parent
	}
}

// tableFile is the shape of every table: a description and its rows.
type tableFile[T any] struct {
	Description string `json:"description"`
	Cases       []T    `json:"cases"`
}

// rows reads the rows of fixtures/scenarios/NAME.
func rows[T any](name string) []T {
	var f tableFile[T]
	table(name, &f)
	if len(f.Cases) == 0 {
		panic(fmt.Sprintf("scenario table %s has no cases", name))
	}
	return f.Cases
}

// entries makes one Ginkgo table entry per row, named by the row.
func entries[T interface{ name() string }](cases []T) []TableEntry {
	out := make([]TableEntry, 0, len(cases))
	for _, c := range cases {
		out = append(out, Entry(c.name(), c))
	}
	return out
}

// table reads fixtures/scenarios/NAME into v, strictly: a typo in a field
// name is an error, not a silently empty case.
func table(name string, v any) {
	dir, err := tablesDir()
	if err != nil {
		panic(err)
	}
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		panic(fmt.Sprintf("scenario table: %v", err))
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		panic(fmt.Sprintf("scenario table %s: %v", name, err))
	}
}
