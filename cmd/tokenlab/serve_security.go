package main

import (
	"os"
	"path/filepath"

	"github.com/tokenlab/tokenlab/server/httpapi"
)

// checkCredentials refuses, before anything listens, a credential too
// short to resist guessing (httpapi.CheckCredential), naming where it came
// from so that the user knows which one to replace.
func checkCredentials(f serveFlags, dir, adminToken, serviceToken string) error {
	adminFrom := filepath.Join(dir, AdminTokenFile)
	switch {
	case f.adminToken != "":
		adminFrom = "--admin-token"
	case os.Getenv("TOKENLAB_ADMIN_TOKEN") != "":
		adminFrom = "TOKENLAB_ADMIN_TOKEN"
	}
	serviceFrom := "--service-token"
	if f.serviceToken == "" {
		serviceFrom = "TOKENLAB_SERVICE_TOKEN"
	}
	for _, c := range []struct{ from, tok string }{{adminFrom, adminToken}, {serviceFrom, serviceToken}} {
		if c.tok == "" {
			continue
		}
		if err := httpapi.CheckCredential(c.tok); err != nil {
			return usagef("the credential of %s is %v", c.from, err)
		}
	}
	return nil
}
